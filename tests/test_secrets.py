"""No secret is ever written: sessions under every fault the fake server knows, with a known
API key and credentials in the base URL, then a search of everything that was written."""

from __future__ import annotations

import base64
import logging
import re
import socket
from pathlib import Path

import pytest

from coach.bench.simulated_server import (
    DEFAULT_MODEL,
    MARKDOWN_MESSAGE,
    FakeOpenAIServer,
    Fault,
    Hang,
    Huge,
    MalformedBody,
    Reply,
    Trickle,
    TruncatedStream,
)
from coach.cli import main

KEY = "sk-test-KEY-SECRET-0042"
USER, PASSWORD, QUERY = "alice-SECRET-user", "pw-URL-SECRET-0042", "QUERY-SECRET-0042"
SECRETS = [KEY, USER, PASSWORD, QUERY,
           base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
VENT = "vent-humiliated-at-work"
REPLY = "Oh love, that sounds humiliating. What was it like sitting there?"

FAULTS = {
    "400 echoing the key": Fault(400, "Bad request.", echo_key=True),
    "401 echoing the key": Fault(401, echo_key=True),
    "403 echoing the key": Fault(403, "Forbidden.", echo_key=True),
    "404 echoing the key": Fault(404, echo_key=True),
    "429 echoing the key": Fault(429, "Slow down.", retry_after=0, echo_key=True),
    "500 echoing the key": Fault(500, "Boom.", echo_key=True),
    "500 whose body never arrives": Fault(500, body_lost=True),
    "markdown": Fault(400, MARKDOWN_MESSAGE),
    "trickle": Trickle(interval=0.2),
    "huge": Huge(chars=200_000),
    "hang": Hang(seconds=10),
    "malformed": MalformedBody(),
    "truncated": TruncatedStream(),
    "fine": Reply("Mm. It was awful."),
}


def _with_credentials(url: str, query: bool) -> str:
    url = url.replace("http://", f"http://{USER}:{PASSWORD}@")
    return url + (f"?api-key={QUERY}" if query else "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def _run(capsys, args: list[str]) -> str:
    main(args)  # the exit code depends on the fault; what matters is what was written
    out = capsys.readouterr()
    return out.out + out.err


def _session_ids(text: str) -> list[str]:
    return re.findall(r"^Session ([0-9a-f]{8})$", text, re.M)


def _exercise(capsys, tmp_path: Path, tag: str) -> str:
    """A session with a reply, a retry, then everything that shows or writes it."""
    said = _run(capsys, ["practice", VENT, "--reply", REPLY])
    for sid in _session_ids(said):
        said += _run(capsys, ["resume", sid, "--reply", "What was the worst part?"])
        said += _run(capsys, ["review", sid])
        said += _run(capsys, ["export", sid, "--format", "json"])
        said += _run(capsys, ["export", sid, "--format", "md", "-o", str(tmp_path / f"{tag}.md")])
    said += _run(capsys, ["history", "--all"])
    return said


@pytest.fixture
def env(monkeypatch, tmp_path):
    home = tmp_path / "home"
    monkeypatch.setenv("COACH_HOME", str(home))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("COACH_PARTNER_MODEL", DEFAULT_MODEL)
    monkeypatch.setenv("COACH_TIMEOUT", "1")
    monkeypatch.setenv("COACH_TIME_BUDGET", "1")
    return home


def _written(tmp_path: Path) -> list[tuple[Path, list[str]]]:
    out = []
    for f in tmp_path.rglob("*"):
        if f.is_file():
            data = f.read_bytes().decode("utf-8", "replace")
            if _leaks(data):
                out.append((f, _leaks(data)))
    return out


@pytest.mark.parametrize("query", [False, True], ids=["userinfo", "userinfo+query"])
def test_no_secret_is_written_under_any_fault(env, tmp_path, capsys, caplog, monkeypatch,
                                              query) -> None:
    said = ""
    with caplog.at_level(logging.DEBUG):
        with FakeOpenAIServer() as srv:
            for tag, fault in FAULTS.items():
                srv.handler = lambda req, fault=fault: fault
                monkeypatch.setenv("OPENAI_BASE_URL", _with_credentials(srv.base_url, query))
                said += _exercise(capsys, tmp_path, tag.replace(" ", "-"))
            assert len(srv.chat_requests) > len(FAULTS)  # the faults really were served
        # and a server that is down
        monkeypatch.setenv("OPENAI_BASE_URL",
                           _with_credentials(f"http://127.0.0.1:{_closed_port()}/v1", query))
        said += _exercise(capsys, tmp_path, "down")
    assert "Incorrect API key provided: " in said  # the echoing faults did echo, redacted
    assert "did not answer in time" in said and "Cannot reach the model server" in said
    assert (env / "coach.db").exists()
    assert _leaks(said) == []
    assert _leaks(caplog.text) == []
    assert caplog.records  # the HTTP client's debug logging really was captured
    assert _written(tmp_path) == []  # the database (turns.error...), exports, anything
