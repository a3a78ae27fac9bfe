"""Ctrl-C mid-turn, in a real process against a trickling model server: it stops promptly,
with one clear line and no traceback, and the reply is kept."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.adapters.store import Store
from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer, Trickle
from tests.llm_fixtures import wait_for

VENT = "vent-humiliated-at-work"
REPLY = "Oh love, that sounds humiliating. What was it like sitting there?"
# Generous bounds: they only turn "never exits" into a failure, they time nothing.
STARTUP = 60.0
EXIT = 30.0


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_mid_turn_exits_promptly(tmp_path: Path, presses: int) -> None:
    # The model trickles, with a budget far longer than the test: only the interrupt can
    # end this turn.
    with FakeOpenAIServer(handler=lambda req: Trickle(interval=0.3)) as srv:
        env = {"COACH_HOME": str(tmp_path), "PATH": "/usr/bin:/bin",
               "OPENAI_BASE_URL": srv.base_url, "COACH_PARTNER_MODEL": DEFAULT_MODEL,
               "COACH_TIMEOUT": "600", "COACH_TIME_BUDGET": "600"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "coach", "practice", VENT, "--reply", REPLY],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        try:
            # The judge is mid-answer (the partner waits for its rating).
            assert wait_for(lambda: len(srv.chat_requests) >= 1, STARTUP), proc.poll()
            for i in range(presses):
                if i:
                    time.sleep(0.2)  # a second, impatient Ctrl-C
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=EXIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    # 130 is the CLI's "stopped"; a second press while it stops ends it by the signal
    # itself, which a shell reports as 130 too. Either way: no traceback.
    assert proc.returncode == 130 or (presses == 2 and proc.returncode == -signal.SIGINT), (
        proc.returncode, out, err)
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "stopped" in err and "saved" in err
    store = Store(tmp_path / "coach.db")
    try:
        (info,) = store.list_sessions(include_empty=True)
        texts = [t.text for t in store.load_tree(info.id).turns if t.role == "user"]
    finally:
        store.close()
    assert texts == [REPLY]  # the reply was kept


def test_an_interrupt_a_library_wrapped_still_stops(monkeypatch, tmp_path: Path, capsys) -> None:
    """Ctrl-C that reaches the CLI as another error (pydantic wraps a KeyboardInterrupt
    that lands while it builds a validator, and the openai client calls that a connection
    error) still stops with the usual line and 130, not as a model failure."""
    from coach.cli import commands as cli
    from coach.core.errors import INTERRUPTED, ModelError

    def interrupted_then_wrapped(args) -> int:
        INTERRUPTED.set()  # what the Ctrl-C handler does
        raise ModelError("Cannot reach the model server: Error building validator")

    monkeypatch.setattr(cli, "cmd_history", interrupted_then_wrapped)
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    prior = signal.getsignal(signal.SIGINT)
    try:
        assert cli.main(["history"]) == 130
    finally:
        signal.signal(signal.SIGINT, prior)
    err = capsys.readouterr().err
    assert "stopped" in err and "Cannot reach" not in err
    monkeypatch.setattr(cli, "cmd_history", lambda args: 0)
    try:
        assert cli.main(["history"]) == 0  # the next run starts uninterrupted
    finally:
        signal.signal(signal.SIGINT, prior)
    assert not INTERRUPTED.is_set()
