"""Every test keeps build states in a folder of its own, never in the user's state folder."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _own_state_folder(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state-home")))
        yield
