"""A selection's state is only good with the main state that made it.

Each selection keeps its state in a file of its own (``--state FILE`` ->
``FILE.NAME``, or the default state file of ``DIR/NAME``).  Deleting the main
state forces a full rebuild (README), so a selection's state whose main state
is gone, or was replaced, must not vouch for ``DIR/NAME/`` on its own: its
books are rebuilt, and a file the user put where it says a build wrote one is
not replaced.  The generator draws sequences of builds, state deletions,
config changes, edits and user files through the CLI and checks after each
build that the user's files are as they were, that a build after the main
state was deleted skipped nothing, and that a successful build leaves the
folder as a fresh build would.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from test_hostile_round_two import run_cli

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CONFIGS = [
    "",
    '[[selection]]\nname = "top"\ntop = 1\n',
    '[[selection]]\nname = "top"\ntop = 1\n[[selection]]\nname = "many"\nmin-votes = 3\n',
]
USER = b"the user's own bytes\n"

action = st.one_of(
    st.just(("build",)),
    st.just(("delete-main",)),
    st.tuples(st.just("delete-selection"), st.sampled_from(["top", "many"])),
    st.tuples(st.just("config"), st.integers(0, len(CONFIGS) - 1)),
    st.tuples(st.just("vote"), st.integers(0, 1), st.integers(1, 9)),
    # a file of the user's where a build writes one, or beside them
    st.tuples(st.just("user-file"), st.sampled_from(["top", "many"]), st.sampled_from(["feed.atom", "notes.txt"])),
)


def _text(day: int, votes: tuple[int, int]) -> str:
    date = f"2024-03-{day:02d}"
    out = [f"## Daily Papers ({date})", ""]
    for i, vote in enumerate(votes):
        out += [f"### [Paper {day} {i}](https://arxiv.org/abs/2403.{day:03d}{i:02d})", "", f"Vote: {vote}", "",
                "Authors: A. B", "", "- result", ""]
    return "\n".join(out)


def _tree(folder: Path, skip: set[str]) -> dict[str, bytes]:
    return {rel: p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and (rel := p.relative_to(folder).as_posix()) not in skip
            and rel.split("/")[0] not in skip}


@settings(max_examples=12, **SETTINGS)
@given(actions=st.lists(action, min_size=2, max_size=7), own_state=st.booleans())
@example(actions=[("config", 1), ("build",), ("delete-main",), ("build",)], own_state=True)
@example(actions=[("config", 1), ("build",), ("delete-main",), ("user-file", "top", "feed.atom"), ("build",)],
         own_state=True)
@example(actions=[("config", 1), ("build",), ("delete-main",), ("user-file", "top", "feed.atom"), ("build",)],
         own_state=False)
@example(actions=[("config", 2), ("build",), ("delete-main",), ("vote", 0, 7), ("build",), ("build",)],
         own_state=False)
def test_a_selection_state_without_its_main_state_vouches_for_nothing(tmp_path_factory, monkeypatch, actions,
                                                                        own_state):
    from exporter.state import default_state_path

    tmp = tmp_path_factory.mktemp("selstate")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp / "xdg"))
    logs, out, config = tmp / "logs", tmp / "out", tmp / "digest-export.toml"
    logs.mkdir()
    votes = [[2, 5], [4, 1]]

    def write_days() -> None:
        for n, v in enumerate(votes):
            (logs / f"d{n}.md").write_text(_text(4 + n, tuple(v)), encoding="utf-8")

    write_days()
    config.write_text(CONFIGS[0], encoding="utf-8")
    main_state = tmp / "state.json" if own_state else default_state_path(out)
    user_files: dict[Path, bytes] = {}
    main_deleted = False
    fresh_runs = 0

    def build(folder: Path, *state: str, verbose: bool = False):
        return run_cli(["--config", str(config), "build", str(logs), "-o", str(folder), "--images", "none",
                        "--format", "atom", *state, "-v" if verbose else "-q"], tmp,
                       env={"XDG_STATE_HOME": str(tmp / "xdg")})

    for act in actions:
        kind = act[0]
        if kind == "delete-main":
            main_deleted = main_deleted or main_state.exists()
            main_state.unlink(missing_ok=True)
        elif kind == "delete-selection":
            path = Path(f"{main_state}.{act[1]}") if own_state else default_state_path(out / act[1])
            path.unlink(missing_ok=True)
        elif kind == "config":
            config.write_text(CONFIGS[act[1]], encoding="utf-8")
        elif kind == "vote":
            votes[act[1]][0] = act[2]
            write_days()
        elif kind == "user-file":
            path = out / act[1] / act[2]
            if path.parent.is_dir() and not path.exists():
                path.write_bytes(USER)
                user_files[path] = USER
        else:
            result = build(out, *(["--state", str(main_state)] if own_state else []), verbose=True)
            for path, data in user_files.items():  # never replaced nor removed
                assert path.read_bytes() == data, (path, result.output)
            if not user_files:
                assert result.exit_code == 0, result.output
            if result.exit_code != 0:
                assert result.exit_code in (1, 2) and any(p.name in result.output for p in user_files), result.output
                continue
            if main_deleted:  # the full rebuild the README promises, selections included
                assert ", 0 skipped)" in result.output, result.output
                main_deleted = False
            fresh_runs += 1
            fresh = tmp / f"fresh{fresh_runs}"
            assert build(fresh, "--state", str(tmp / f"fresh{fresh_runs}.json")).exit_code == 0
            # A selection dropped from the config while no main state knew of it cannot be
            # removed (nothing says the folder is ours): only the current ones are compared.
            current = {line.split('"')[1] for line in config.read_text().splitlines() if line.startswith("name")}
            gone = {p.name for p in out.iterdir() if p.is_dir() and p.name in {"top", "many"} - current}
            mine = {p.relative_to(out).as_posix() for p in user_files}
            assert _tree(out, gone | mine) == _tree(fresh, set()), act
