"""`coach serve-local` stops its server child however it is stopped: Ctrl-C, SIGTERM (a
service manager, `kill PID`) or SIGHUP (the terminal closed), while the model still loads
or once it serves. Nothing is left running.

No model is needed: a stand-in `llama_cpp.server` (a few lines of stdlib HTTP, first on
PYTHONPATH) plays the child, so this runs everywhere, the local extra installed or not.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.llm_fixtures import wait_for

# Generous bounds: they only turn "never" into a failure, they time nothing.
START = 60.0
EXIT = 30.0

STAND_IN = '''
import http.server, json, os, sys, time
args = sys.argv[1:]
port = int(args[args.index("--port") + 1])
with open(os.environ["STAND_IN_PID"], "w") as f:
    f.write(str(os.getpid()))
if os.environ.get("STAND_IN_MODE") == "slow":  # a model that takes forever to load
    time.sleep(600)

class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def _json(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._json({"object": "list", "data": [{"id": "smollm2", "object": "model"}]})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._json({"id": "x", "object": "chat.completion", "choices": [
            {"index": 0, "finish_reason": "length",
             "message": {"role": "assistant", "content": "Hi"}}]})

http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

# The coach CLI, with the model file and the server's packages taken as present.
RUN_COACH = '''
import sys
from pathlib import Path
from coach.adapters import local_server
local_server.find_model_file = lambda: Path("stand-in.gguf")
local_server._check_server_installed = lambda: None
from coach.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is gone in all but name (only its parent, reaped it or not, matters here).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals and /proc")
@pytest.mark.parametrize(("sig", "mode"), [
    (signal.SIGTERM, "ready"), (signal.SIGHUP, "ready"), (signal.SIGINT, "ready"),
    (signal.SIGTERM, "slow"),
])
def test_a_stop_signal_stops_the_server_child(tmp_path: Path, sig: int, mode: str) -> None:
    pkg = tmp_path / "stand_in" / "llama_cpp" / "server"
    pkg.mkdir(parents=True)
    (pkg.parent / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text(textwrap.dedent(STAND_IN))
    pid_file = tmp_path / "server.pid"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "COACH_HOME": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "stand_in"), str(root)]),
           "STAND_IN_PID": str(pid_file), "STAND_IN_MODE": mode}
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_COACH, "serve-local", "--port", str(_free_port())],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True,  # a signal for it alone, as `kill PID` sends
    )
    child = None
    try:
        assert wait_for(pid_file.exists, START), proc.poll()
        assert wait_for(lambda: pid_file.read_text().strip().isdigit(), START)
        child = int(pid_file.read_text())
        if mode == "ready":
            assert proc.stdout is not None
            line = ""
            deadline = time.monotonic() + START
            while "Ready" not in line and time.monotonic() < deadline and proc.poll() is None:
                line = proc.stdout.readline()
            assert "Ready" in line, (proc.poll(), line)
        else:
            time.sleep(0.5)  # the CLI waits for the model to load
        assert proc.poll() is None and _alive(child)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=EXIT)
        assert wait_for(lambda: not _alive(child), EXIT), f"server child {child} left running"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)
    assert proc.returncode == (130 if sig == signal.SIGINT else 128 + sig), (
        proc.returncode, err)
    assert "Traceback" not in err, err
    assert "local model server is stopped" in err, err
