"""The engine `containers/engine.sh` starts outlives a Ctrl-C on the command it runs (compose stopping its
containers needs it), and is stopped by the script afterwards."""

from __future__ import annotations

import os
import subprocess

import pytest

pytestmark = pytest.mark.docker


def test_the_engine_is_outside_the_process_group_a_terminals_ctrl_c_reaches() -> None:
    """A terminal sends SIGINT to its foreground process group: this test's, engine.sh's and compose's."""
    pids = [
        int(pid) for pid in subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True).stdout.split()
    ]
    assert pids, "a dockerd answers the docker tests"
    assert all(os.getpgid(pid) != os.getpgrp() for pid in pids), "dockerd shares the command's process group"
