"""A build state edited by hand in a shape-valid way is damage, never trusted.

The state is the program's cache: a file's days emptied, a day moved, a catalog title changed
or a user's file listed as written all fit its schema.  The state carries a checksum of its own
content (``exporter.gates.documents.seal``), so any such edit means a full rebuild whose output
equals a fresh build, and the writer deletes only files carrying the program's mark, so a state
that lies (even one re-sealed by someone who knows the checksum) never removes a user's file.
Each edit is generated and run through the CLI.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exporter.cli import main
from exporter.output import Stamp
from state_helpers import write_sealed

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
USER_BOOK = "daily-papers-2024-W09.epub"
INPUTS = {
    "d.md": "## Daily Papers (2024-03-04)\n\n### [T](https://arxiv.org/abs/2403.00001)\n\nVote: 1\n\nAuthors: A\n\n- s\n",
    "e.md": "## Daily Papers (2024-03-11)\n\n### [U](https://arxiv.org/abs/2403.00002)\n\nVote: 3\n\nAuthors: B\n\n- s2\n",
}


def _cli(args: list[str], tmp: Path):
    result = CliRunner().invoke(main, args, env={"XDG_CACHE_HOME": str(tmp / "cache")})
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output, result.output
    return result


def _args(tmp: Path, out: str, state: str) -> list[str]:
    return ["build", str(tmp / "in"), "-o", str(tmp / out), "--images", "none", "--state", str(tmp / state),
            "--base-url", "https://ex.org/", "--format", "atom", "--format", "opds"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@st.composite
def hand_edits(draw):
    """One edit of the state that keeps its schema: (what, function(doc, user_stamp))."""
    kind = draw(st.sampled_from(["no days", "a day moved", "catalog title", "catalog language",
                                 "catalog period", "a user's book listed", "size and mtime"]))
    pick = draw(st.integers(0, 1))
    date = draw(st.dates(min_value=__import__("datetime").date(2000, 1, 1),
                         max_value=__import__("datetime").date(2099, 12, 31))).isoformat()
    title = draw(st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=20))

    def edit(doc: dict, user_stamp: list[int]) -> None:
        files = doc["files"][sorted(doc["files"])[pick]]
        books = doc["catalog_books"]
        record = books[sorted(books)[pick % len(books)]] if books else None
        if kind == "no days":
            files["digests"] = []
        elif kind == "a day moved":
            files["digests"][0][0] = date
        elif kind == "catalog title" and record is not None:
            record["title"] = title
        elif kind == "catalog language" and record is not None:
            record["language"] = "fr" if record.get("language") != "fr" else "de"
        elif kind == "catalog period" and record is not None:
            record["period"] = [date, date]
        elif kind == "a user's book listed":
            first = doc["books"][sorted(doc["books"])[0]]
            doc["books"][USER_BOOK] = {**first, "inputs": "0" * 32, "files": {USER_BOOK: user_stamp}}
        else:
            files["size"], files["mtime_ns"] = files["size"] + 1, files["mtime_ns"] + 1
    return kind, edit


@settings(max_examples=14, **SETTINGS)
@given(edit=hand_edits())
def test_a_hand_edited_state_is_a_full_rebuild_equal_to_a_fresh_one(edit, tmp_path_factory):
    kind, mutate = edit
    tmp = tmp_path_factory.mktemp("sealed")
    (tmp / "in").mkdir()
    for name, text in INPUTS.items():
        (tmp / "in" / name).write_text(text, "utf-8")
    assert _cli(_args(tmp, "fresh", "fresh.json"), tmp).exit_code == 0
    assert _cli(_args(tmp, "out", "state.json"), tmp).exit_code == 0
    user = tmp / "out" / USER_BOOK
    user.write_bytes(b"my own notes, not a zip\n")
    st_ = user.stat()
    doc = json.loads((tmp / "state.json").read_text("utf-8"))
    mutate(doc, list(Stamp.of(st_)))
    edited = json.dumps({k: v for k, v in doc.items() if k != "checksum"}, ensure_ascii=False,
                        separators=(",", ":"))
    # The edit as a person makes it: the checksum left as it was.
    (tmp / "state.json").write_text(edited[:-1] + ',"checksum":"' + json.loads(
        (tmp / "state.json").read_text("utf-8"))["checksum"] + '"}\n', "utf-8")
    result = _cli(_args(tmp, "out", "state.json") + ["-v"], tmp)
    assert result.exit_code == 0, (kind, result.output)
    assert "is damaged" in result.output and "checksum" in result.output, (kind, result.output)
    assert "no longer built" not in result.output, (kind, result.output)
    assert user.read_bytes() == b"my own notes, not a zip\n", kind
    user.unlink()
    assert _tree(tmp / "out") == _tree(tmp / "fresh"), kind


@settings(max_examples=6, **SETTINGS)
@given(size_delta=st.sampled_from([0]), zip_like=st.booleans())
def test_a_resealed_state_that_lists_a_users_file_never_deletes_it(size_delta, zip_like, tmp_path_factory):
    """The checksum is no secret: a state re-sealed after the edit is read, and then only the
    program's mark (which every file it writes carries) lets a run delete a file."""
    tmp = tmp_path_factory.mktemp("resealed")
    (tmp / "in").mkdir()
    for name, text in INPUTS.items():
        (tmp / "in" / name).write_text(text, "utf-8")
    assert _cli(_args(tmp, "out", "state.json"), tmp).exit_code == 0
    user = tmp / "out" / USER_BOOK
    mine = b"PK\x03\x04 not really a zip" if zip_like else b"my own notes\n"
    user.write_bytes(mine)
    st_ = user.stat()
    doc = json.loads((tmp / "state.json").read_text("utf-8"))
    first = doc["books"][sorted(doc["books"])[0]]
    doc["books"][USER_BOOK] = {**first, "inputs": "0" * 32,
                               "files": {USER_BOOK: [st_.st_size + size_delta, *list(Stamp.of(st_))[1:]]}}
    write_sealed(tmp / "state.json", doc)
    result = _cli(_args(tmp, "out", "state.json") + ["-v"], tmp)
    assert result.exit_code == 0, result.output
    assert "is damaged" not in result.output, result.output
    assert user.read_bytes() == mine
    assert f"removed {tmp / 'out' / USER_BOOK}" not in result.output


@pytest.mark.parametrize("name", ["fsbytes:../sentinel/x.epub", "fsbytes:a/../../x.epub", "fsbytes:/etc/x.epub",
                                  "fsbytes:top//x.epub"])
def test_a_stored_name_that_leads_out_of_the_folder_is_a_damaged_state(tmp_path, name):
    """A name in its stored spelling (``fsbytes:``, for bytes that are not UTF-8) passes the names
    gate as written, its mark first: read back, a name with a "..", "." or empty segment makes the
    state damaged (a full rebuild), never a file the run would remove."""
    (tmp_path / "in").mkdir()
    for file_name, text in INPUTS.items():
        (tmp_path / "in" / file_name).write_text(text, "utf-8")
    assert _cli(_args(tmp_path, "out", "state.json"), tmp_path).exit_code == 0
    doc = json.loads((tmp_path / "state.json").read_text("utf-8"))
    first = doc["books"][sorted(doc["books"])[0]]
    doc["books"][sorted(doc["books"])[0]] = {**first, "files": {name: next(iter(first["files"].values()))}}
    write_sealed(tmp_path / "state.json", doc)
    result = _cli(_args(tmp_path, "out", "state.json") + ["-v"], tmp_path)
    assert result.exit_code == 0, result.output
    assert "is damaged (" in result.output and "rebuilding everything" in result.output, result.output
    assert "regex" not in result.output  # the names gate's pattern is said as what it stands for


def test_a_damaged_documents_message_stays_short_and_readable():
    """A 6 MB value where a name of a few letters goes (a damaged send ledger) made a message of
    6 MB; a pattern's regular expression was quoted as such: said in part, and as what it is."""
    from typing import Literal

    import msgspec

    from exporter.gates import documents

    Doc = msgspec.defstruct("Doc", [("kind", Literal["book", "feed"]), ("name", documents.FileName)])

    for raw in (b'{"kind": "' + b"x" * 6_000_000 + b'", "name": "a"}', b'{"kind": "book", "name": "../x"}'):
        with pytest.raises(documents.DocumentDamaged) as caught:
            documents.decode(raw, Doc, limit=10_000_000)
        said = str(caught.value)
        assert len(said) < 500 and "regex" not in said, said[:600]
