"""Stopping `coach app` stops the Streamlit server: nothing keeps listening on the port.

A real `coach app` process on a free port, stopped the ways people stop it (kill PID,
Ctrl-C), with bounded waits. Its process group is killed at the end whatever happens, so a
failing run leaves no server behind either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

STARTUP_S = 90  # a cold Streamlit start on a busy 2-core machine
STOP_S = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait(predicate, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["kill", "ctrl-c"])
def test_a_signal_to_coach_app_stops_the_server(tmp_path, sig) -> None:
    port = _free_port()
    env = {**os.environ, "COACH_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "coach", "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group, so the cleanup below reaches every child
    )
    try:
        assert _wait(lambda: _listening(port), STARTUP_S), "the app never started listening"
        os.kill(proc.pid, sig)  # to the process only, as `kill PID` does
        proc.wait(timeout=STOP_S)
        assert _wait(lambda: not _listening(port), STOP_S), "the server outlived coach app"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_S)
