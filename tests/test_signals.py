"""SIGTERM (timeout, systemd, a cron job stopped) removes the temporary files being written:
no ``.part`` file is left in the published folder, and the exit status is 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import generate  # noqa: E402


def test_sigterm_in_the_middle_of_writing_leaves_no_temporary_file(tmp_path):
    generate(tmp_path / "in", 120, 2400)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(tmp_path / "state"),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    stopped = []
    for delay in (0.0, 0.05, 0.2):  # after the first files, while books and archives are written
        proc = subprocess.Popen([sys.executable, "-m", "exporter", "build", str(tmp_path / "in"), "-o", str(out),
                                 "--images", "none", "--by", "day", "--archive", "-q"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not (out.is_dir() and any(out.iterdir())):
            time.sleep(0.01)
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        if proc.returncode == 0:
            continue  # it finished first: nothing to see
        stopped.append(proc.returncode)
        assert proc.returncode == 128 + signal.SIGTERM, err.decode()
        assert b"stopped (SIGTERM)" in err and b"Traceback" not in err, err.decode()
        assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
        subprocess.run(["rm", "-rf", str(out), str(tmp_path / "state")], check=True)
    assert stopped, "every run finished before the signal: the test showed nothing"
