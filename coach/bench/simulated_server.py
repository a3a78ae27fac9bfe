"""A small OpenAI-compatible HTTP server with scripted behaviour, for tests and benchmarks.

It speaks just enough of the API for the coach: `POST /v1/chat/completions` (plain JSON,
or SSE chunks ending in `data: [DONE]` when `stream: true`) and `GET /v1/models`. Each
request takes the next queued action, or asks `handler` when the queue is empty; the
default handler answers judge requests with valid rubric JSON quoting the reply and
partner requests with a short line, so a whole session can run against it.

    with FakeOpenAIServer(delay=0.2) as srv:
        srv.enqueue(Fault(429, retry_after=1), Reply("hello"))
        ... point a client at srv.base_url ...
        assert len(srv.requests) == 2

Actions: `Reply` (text, optional per-reply delay), `Fault` (any status, optional
Retry-After, optionally echoing the bearer token back, as some servers do in "Invalid API
key provided: sk-..."), `Hang` (say nothing for a while), `MalformedBody` (200 with a
non-JSON body), `TruncatedStream` (some SSE chunks, then the connection drops), `Trickle`
(one SSE chunk or one body byte every `interval` seconds, for as long as the client
listens) and `Huge` (an answer of millions of characters). `MARKDOWN_MESSAGE` is an error
text with Markdown and a remote image in it, for `Fault(400, MARKDOWN_MESSAGE)`.
Judge-specific faults (broken JSON content, missing fields, a fabricated quote) are just
`Reply` texts.

Stdlib only (`http.server`), so it ships in the package for `coach bench`.
Run standalone: `python -m coach.bench.simulated_server --port 8081`.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from coach.core.rubric import BY_KEY, CRITERION_KEYS

DEFAULT_MODEL = "fake-model"


@dataclass
class Reply:
    """Answer with `text` (as JSON or as an SSE stream, whichever was asked for)."""

    text: str
    delay: float = 0.0
    finish_reason: str = "stop"


@dataclass
class Fault:
    """Answer with an HTTP error.

    `echo_key` appends the bearer token the request carried to the message, like
    "Invalid API key provided: sk-...": the client must not store or show it.
    `body_lost` sends the status line and headers, then closes the connection before the
    body: what a proxy or a crashing server does, and what the SDK reads outside its own
    error wrapping.
    """

    status: int
    message: str = ""
    retry_after: float | None = None
    echo_key: bool = False
    body_lost: bool = False


# An error message a misbehaving server might send: Markdown, a link and a remote image.
# The image URL is on 127.0.0.1 port 9 (discard), so even a renderer that fetched it would
# not reach the internet.
MARKDOWN_MESSAGE = (
    "**Quota exceeded** ![tracker](http://127.0.0.1:9/pixel.png) see "
    "[your account](http://127.0.0.1:9/account) <b>now</b>"
)


@dataclass
class Hang:
    """Send nothing for `seconds` (past the client's timeout), then a reply."""

    seconds: float = 30.0
    then: str = "too late"


@dataclass
class MalformedBody:
    """A 200 response whose body is not JSON."""

    body: str = '{"choices": [ this is not json'


@dataclass
class TruncatedStream:
    """Stream the first `chunks` words of `text`, then drop the connection (no [DONE])."""

    text: str = "I was trying to say that"
    chunks: int = 3


@dataclass
class Trickle:
    """Keep the answer coming, slowly: one SSE chunk (or, for a JSON answer, one body byte)
    every `interval` seconds, for `seconds` in all (default: until the server stops or the
    client goes away). Each read succeeds, so no per-read timeout ever fires."""

    interval: float = 1.0
    seconds: float = 3600.0
    text: str = "I keep thinking about it and"


@dataclass
class Huge:
    """A 200 answer of `chars` characters (streamed in large chunks when streaming)."""

    chars: int = 10_000_000
    chunk: int = 65_536


Action = Reply | Fault | Hang | MalformedBody | TruncatedStream | Trickle | Huge


@dataclass
class RecordedRequest:
    """One request the server received. The Authorization header is redacted."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))

    @property
    def last_user_text(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        return str(users[-1].get("content", "")) if users else ""


REPLY_RE = re.compile(r"<reply>\n?(.*?)\n?</reply>", re.S)


def auto_reply(req: RecordedRequest) -> Action:
    """The default behaviour: a valid judge answer for judge requests, else a short line.

    A request is a judge request when it asks for JSON (`response_format`) or its last
    user message fences a `<reply>`. The judge answer gives level 1 everywhere, quoting
    the start of the reply as evidence, so it always passes the judge's checks.
    """
    body = req.body or {}
    text = req.last_user_text
    found = REPLY_RE.search(text)
    if body.get("response_format") is None and not found:
        return Reply("Mm. I hear you. It was a long day.")
    reply = found.group(1) if found else ""
    quote = " ".join(reply.split(" ")[:4]).strip()
    scores = {}
    for key in CRITERION_KEYS:
        inverse = BY_KEY[key].inverse_of is not None
        scores[key] = {"level": 2 if inverse else 1,
                       "evidence": [] if inverse or not quote else [quote]}
    out = {"scores": scores, "flags": [],
           "tip": "Name the feeling you heard before anything else.",
           "better_reply": "That sounds so painful. What was the worst part for you?"}
    return Reply(json.dumps(out))


class FakeOpenAIServer:
    """An OpenAI-compatible server on 127.0.0.1 with an ephemeral port (a context manager).

    Args:
        port: 0 picks a free port.
        delay: seconds added before every answer (e.g. 0.2 to benchmark a slow model).
        models: the model ids served; a request for another model gets a 404.
        api_key: when set, requests without `Bearer <api_key>` get a 401.
        handler: decides the action when the queue is empty (default: `auto_reply`).

        ollama: also speak the bits of Ollama's own API the coach uses: `GET /api/version`,
            `GET /api/tags` and a streaming `POST /api/pull` (progress lines, then "success";
            the pulled model joins `models`). No download happens.

    Set `models_fault` to a `Fault` to make `GET /v1/models` answer with it; `pull_error`
    to make `/api/pull` stream an error line instead of finishing.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        delay: float = 0.0,
        models: tuple[str, ...] = (DEFAULT_MODEL,),
        api_key: str | None = None,
        handler: Callable[[RecordedRequest], Action] | None = None,
        ollama: bool = False,
    ) -> None:
        self.delay = delay
        self.models = models
        self.ollama = ollama
        self.pull_error: str | None = None
        self.api_key = api_key
        self.handler = handler or auto_reply
        self.models_fault: Fault | None = None
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Action] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *actions: Action) -> FakeOpenAIServer:
        """Queue actions for the next chat requests, in order. Returns self."""
        with self._lock:
            self._queue.extend(actions)
        return self

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat completion requests received so far."""
        with self._lock:
            return [r for r in self.requests
                    if urlsplit(r.path).path.rstrip("/").endswith("/chat/completions")]

    def start(self) -> FakeOpenAIServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; hanging answers are released."""
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the request handler ----------------------------------------------------

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)

    def _next_action(self, req: RecordedRequest) -> Action:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.handler(req)

    def _sleep(self, seconds: float) -> None:
        self._stop.wait(seconds)


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, and the end of a stream is the end of
        # the connection, which is what makes a truncated stream observable.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _headers(self) -> dict[str, str]:
            out = {k.lower(): v for k, v in self.headers.items()}
            if "authorization" in out:
                out["authorization"] = "Bearer ***"
            return out

        def _authorized(self) -> bool:
            if server.api_key is None:
                return True
            return self.headers.get("Authorization", "") == f"Bearer {server.api_key}"

        def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
            self._send_json(
                status, {"error": {"message": message, "type": "fake_error", "code": status}},
                headers,
            )

        def do_GET(self) -> None:
            server._record(RecordedRequest("GET", self.path, self._headers(), None))
            if not self._authorized():
                return self._error(401, "Incorrect API key provided.")
            route = urlsplit(self.path).path.rstrip("/")  # a query (?api-version=...) is fine
            if server.ollama and route == "/api/version":
                return self._send_json(200, {"version": "0.0.0-fake"})
            if server.ollama and route == "/api/tags":
                return self._send_json(200, {"models": [
                    {"name": m, "model": m, "size": 0} for m in server.models]})
            if route.endswith("/models") and server.models_fault is not None:
                return self._act(server.models_fault, {})
            if route.endswith("/models"):
                return self._send_json(200, {"object": "list", "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "fake"}
                    for m in server.models]})
            self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = None
            req = RecordedRequest("POST", self.path, self._headers(), body)
            server._record(req)
            if server.ollama and urlsplit(self.path).path.rstrip("/") == "/api/pull":
                return self._pull(body or {})
            if not urlsplit(self.path).path.rstrip("/").endswith("/chat/completions"):
                return self._error(404, f"no route {self.path}")
            if not self._authorized():
                return self._error(401, "Incorrect API key provided.")
            if body is None:
                return self._error(400, "request body is not JSON")
            model = str(body.get("model", ""))
            if model not in server.models:
                return self._error(404, f"The model '{model}' does not exist")
            action = server._next_action(req)
            if server.delay:
                server._sleep(server.delay)
            # The client may have given up (timeout): that is expected, not an error.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._act(action, body)

        def _act(self, action: Action, body: dict[str, Any]) -> None:
            model = str(body.get("model"))
            stream = bool(body.get("stream"))
            if isinstance(action, Fault):
                headers = {}
                if action.retry_after is not None:
                    headers["Retry-After"] = f"{action.retry_after:g}"
                message = action.message or f"fake {action.status}"
                if action.echo_key:  # the credentials as sent: "Bearer sk-..." or "Basic ..."
                    token = self.headers.get("Authorization", "")
                    message = f"{message} Incorrect API key provided: {token}."
                if action.body_lost:
                    self.send_response(action.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "150")
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.close_connection = True
                    return None
                return self._error(action.status, message, headers)
            if isinstance(action, Trickle):
                return self._trickle(model, action, stream)
            if isinstance(action, Huge):
                text = ("la " * (action.chars // 3 + 1))[: action.chars]
                if stream:
                    return self._stream(model, text, piece_size=action.chunk)
                action = Reply(text)
            if isinstance(action, Hang):
                server._sleep(action.seconds)
                action = Reply(action.then)
            if isinstance(action, MalformedBody):
                data = action.body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return None
            if isinstance(action, TruncatedStream):
                return self._stream(model, action.text, cut_after=action.chunks)
            assert isinstance(action, Reply)
            if action.delay:
                server._sleep(action.delay)
            if stream:
                return self._stream(model, action.text, finish=action.finish_reason)
            prompt_tokens = sum(len(str(m.get("content", "")).split())
                                for m in body.get("messages", []))
            self._send_json(200, {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "finish_reason": action.finish_reason,
                             "message": {"role": "assistant", "content": action.text}}],
                "usage": {"prompt_tokens": prompt_tokens,
                          "completion_tokens": len(action.text.split()),
                          "total_tokens": prompt_tokens + len(action.text.split())},
            })
            return None

        def _pull(self, body: dict[str, Any]) -> None:
            # Ollama streams one JSON object per line: status, then per-layer byte counts.
            model = str(body.get("model") or body.get("name") or "")
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            total = 4_000_000
            lines: list[dict[str, Any]] = [{"status": "pulling manifest"}]
            lines += [{"status": "pulling sha256:fake", "digest": "sha256:fake", "total": total,
                       "completed": total * i // 4} for i in range(1, 5)]
            if server.pull_error:
                lines = [lines[0], lines[1], {"error": server.pull_error}]
            else:
                lines += [{"status": "verifying sha256 digest"}, {"status": "success"}]
            for line in lines:
                self.wfile.write((json.dumps(line) + "\n").encode())
                self.wfile.flush()
            if not server.pull_error and model and model not in server.models:
                server.models = (*server.models, model)

        def _event(self, model: str, delta: dict[str, Any], finish_reason: str | None) -> None:
            chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                     "created": int(time.time()), "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        def _trickle(self, model: str, action: Trickle, stream: bool) -> None:
            end = time.monotonic() + action.seconds
            self.send_response(200)
            if stream:
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = action.text.split(" ")
                i = 0
                self._event(model, {"role": "assistant", "content": words[0] + " "}, None)
                while time.monotonic() < end and not server._stop.is_set():
                    server._sleep(action.interval)
                    i += 1
                    self._event(model, {"content": words[i % len(words)] + " "}, None)
                return
            # A JSON answer whose body never quite arrives: a long Content-Length, one byte
            # at a time.
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000000")
            self.end_headers()
            body = b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": ['
            i = 0
            while time.monotonic() < end and not server._stop.is_set():
                self.wfile.write(body[i % len(body) : i % len(body) + 1])
                self.wfile.flush()
                i += 1
                server._sleep(action.interval)

        def _stream(self, model: str, text: str, *, finish: str = "stop",
                    cut_after: int | None = None, piece_size: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if piece_size:
                pieces = [text[i : i + piece_size] for i in range(0, len(text), piece_size)]
            else:
                words = text.split(" ")
                pieces = [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]

            def event(delta: dict[str, Any], finish_reason: str | None) -> None:
                self._event(model, delta, finish_reason)

            for i, piece in enumerate(pieces):
                if cut_after is not None and i >= cut_after:
                    # Half an event, then the connection closes: a broken stream.
                    self.wfile.write(b'data: {"id": "chatcmpl-fake", "cho')
                    self.wfile.flush()
                    return
                event({"role": "assistant", "content": piece} if i == 0 else {"content": piece},
                      None)
            event({}, finish)
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


# The faults `python -m coach.bench.simulated_server --fault NAME` serves, for trying them by hand.
FAULTS: dict[str, Action] = {
    "trickle": Trickle(interval=3.0),
    "huge": Huge(),
    "echo-key": Fault(401, echo_key=True),
    "markdown": Fault(400, MARKDOWN_MESSAGE),
    "down": Fault(503, "overloaded"),
}


def main(argv: list[str] | None = None) -> int:
    """Run the fake server in the foreground (for manual testing and benchmarks)."""
    import argparse

    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--fault", choices=sorted(FAULTS),
                        help="answer every chat request with this fault")
    parser.add_argument("--ollama", action="store_true",
                        help="also answer Ollama's /api/version, /api/tags and /api/pull")
    args = parser.parse_args(argv)
    handler = None
    if args.fault:
        fault = FAULTS[args.fault]
        handler = lambda req: fault  # noqa: E731
    srv = FakeOpenAIServer(port=args.port, delay=args.delay, handler=handler,
                           ollama=args.ollama).start()
    print(f"export OPENAI_BASE_URL={srv.base_url}")
    print(f"export COACH_PARTNER_MODEL={DEFAULT_MODEL}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
