"""Every test keeps build states in a folder of its own, never in the user's state folder, and is a run
of its own for the budgets a run has."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _own_state_folder(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))
        yield


@pytest.fixture(autouse=True)
def _own_compile_budget():
    """Each test is a run of its own for the budget of compiling regular expressions (a run of the
    program starts one afresh: exporter.cli.crash.Group.main)."""
    import sys

    selections = sys.modules.get("exporter.selections.model")
    if selections is not None:
        selections.new_compile_budget()
    yield


@pytest.fixture(autouse=True, scope="session")
def _stop_epubcheck():
    """The EPUBCheck JVM that tests/epub_fixtures.py keeps for the whole run ends with it."""
    yield
    import sys

    fixtures = sys.modules.get("epub_fixtures")
    if fixtures is not None:
        fixtures.stop_epubcheck()
