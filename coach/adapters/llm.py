"""The only door to the `openai` SDK: a small chat protocol, one retry layer, clear errors.

Everything else in the coach talks to a `ChatModel`. `OpenAIChatModel` implements it over
any OpenAI-compatible server (OpenAI, llama.cpp, vLLM, Ollama...). The SDK's own retries are
off (`max_retries=0`) so there is exactly one retry policy, here, with tenacity:

* retried: 429 (honouring Retry-After, capped), 5xx, connection errors, timeouts;
* never retried: 400/401/403/404/422 and other client errors (trying again cannot help);
* bounded twice: a maximum number of attempts *and* a total time per call.

The time budget bounds the *whole* call, reading included: each request's timeout is only
per read, so a server that sends one byte or one SSE chunk every few seconds would never
trip it. A `_Deadline` watchdog therefore shuts down the call's sockets when the budget
runs out, which ends any read at once, and the call fails with the budget message.

When it gives up it raises `ModelError` with a message that says what to do. The API key
is never logged or put in a message: URLs are shown without credentials, and every
`ModelError` is redacted (`coach.core.redact`), including what the server said.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx2
import openai
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from coach.adapters.config import PLACEHOLDER_KEY, ModelConfig, safe_url
from coach.core import wording
from coach.core.errors import INTERRUPTED, ModelError
from coach.core.redact import install_log_filter, remember_secret, remember_url_secrets

log = logging.getLogger(__name__)
install_log_filter()  # the HTTP client logs request URLs, credentials included

Message = dict[str, str]

# Said to people in the app and in a terminal alike: each UI reads its own words.
OFFLINE_HINT = wording.OFFLINE_HINT


@dataclass(frozen=True)
class Completion:
    """One finished completion.

    Attributes:
        text: the message content ("" when the model sent none).
        usage: prompt_tokens / completion_tokens (empty when the server did not say).
        latency_ms: wall time of the whole call, retries included.
        retries: how many extra attempts were needed (0 = first try worked).
        finish_reason: as reported by the server ("stop", "length", ...).
    """

    text: str
    usage: dict[str, int] = field(default_factory=dict)
    latency_ms: float = 0.0
    retries: int = 0
    finish_reason: str | None = None


class ChatModel(Protocol):
    """What the partner and the judge need from a chat model."""

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion:
        """Return the whole completion. Raises ModelError."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float = 0.7,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """Yield content chunks in order. Raises ModelError, also when cut off mid-way."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on one call.

    Attributes:
        max_attempts: attempts in total (1 = no retry).
        time_budget: seconds for the whole call; no new attempt starts after it, and no
            request is allowed to run past it.
        backoff_initial: first back-off in seconds; doubles each retry.
        backoff_max: cap for one back-off.
        jitter: up to this many random seconds added to each back-off, so that many
            clients that failed together do not retry together.
        retry_after_cap: the most we wait for a server's Retry-After.
    """

    max_attempts: int = 3
    time_budget: float = 120.0
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    jitter: float = 0.5
    retry_after_cap: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        base = min(self.backoff_max, self.backoff_initial * 2 ** (attempt - 1))
        return base + random.uniform(0, self.jitter)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _retry_after(exc: BaseException) -> float | None:
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:  # an HTTP date: rare, and the exponential back-off is fine then
        return None
    return None


class _Deadline:
    """The end of one call's time budget: when it passes, the call's sockets are shut down.

    Shutting a socket down (not just closing it) wakes a read blocked on it in another
    thread, so a trickling server cannot hold a call past its budget. `watch` is fed by
    the HTTP client's response hook, in the thread making the request.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            if not self.expired:
                self._socks.append(sock)
                return
        _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            socks, self._socks = self._socks, []
        for sock in socks:
            _shutdown(sock)

    def cancel(self) -> None:
        """The call is over: stop the watchdog (its sockets may go back to the pool)."""
        self._timer.cancel()
        with self._lock:
            self._socks = []


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed: nothing left to stop
        sock.shutdown(socket.SHUT_RDWR)


# The deadline of the call the current thread is making, for the response hook.
_current = threading.local()


def _watch_response(response: Any) -> None:
    """httpx response hook: put the response's socket under the current call's deadline."""
    deadline: _Deadline | None = getattr(_current, "deadline", None)
    if deadline is None:
        return
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if isinstance(sock, socket.socket):
        deadline.watch(sock)


# Control characters (escape sequences, carriage returns, NULs) in what a server sends
# would act on the terminal that prints it: the CLI shows model text and errors verbatim.
# Newlines and tabs are text and stay.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """`text` without control characters other than newline and tab."""
    return _CONTROL_RE.sub("", text)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return printable(err["message"][:300])
        if isinstance(err, str):
            return printable(err[:300])
    return printable((exc.message or "")[:300])


class OpenAIChatModel:
    """`ChatModel` over an OpenAI-compatible HTTP server.

    Args:
        base_url: the server, e.g. http://127.0.0.1:8080/v1.
        api_key: bearer token (a placeholder is fine for local servers).
        timeout: seconds per HTTP request.
        policy: the retry policy; its time_budget bounds each call.
        sleep: how to wait between attempts (default `time.sleep`). Tests pass a recorder
            to check which waits were requested without waiting or reading a clock.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 60.0,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What messages show: never the URL's user:password@ or its query.
        self.shown_url = safe_url(self.base_url)
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        # Whatever a server or a library says later, these never reach a message.
        if api_key != PLACEHOLDER_KEY:
            remember_secret(api_key)
        remember_url_secrets(self.base_url)
        # A query in the base URL (?api-key=..., ?api-version=...) goes on every request;
        # left in the base URL, the SDK would glue the API path onto the query.
        parts = urlsplit(self.base_url)
        self._client = openai.OpenAI(
            base_url=urlunsplit(parts._replace(query="", fragment="")),
            default_query=dict(parse_qsl(parts.query)) or None,
            api_key=api_key, timeout=timeout, max_retries=0,
            http_client=openai.DefaultHttpxClient(
                timeout=timeout, event_hooks={"response": [_watch_response]}
            ),
        )

    @classmethod
    def from_config(cls, config: ModelConfig, policy: RetryPolicy | None = None) -> OpenAIChatModel:
        """Build from a resolved config; the config's time budget bounds each call."""
        policy = policy or RetryPolicy(time_budget=config.time_budget)
        return cls(
            base_url=config.base_url, api_key=config.api_key, timeout=config.timeout,
            policy=policy,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(base_url={self.shown_url!r})"

    # -- the retry layer ---------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = _retry_after(exc) if exc is not None else None
        if after is not None:
            return min(max(after, 0.0), self.policy.retry_after_cap)
        return self.policy.backoff(state.attempt_number)

    def _call(self, fn: Any, *, model: str, deadline: _Deadline) -> tuple[Any, int]:
        """Run `fn(timeout)` under the retry policy and `deadline`; return (result, retries)."""
        start = time.monotonic()
        policy = self.policy
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            remaining = policy.time_budget - (time.monotonic() - start)
            # No single request may outlive the call's budget; the deadline stops a
            # response whose reads each succeed but never end.
            _current.deadline = deadline
            try:
                return fn(max(0.05, min(self.timeout, remaining)))
            except httpx2.TransportError as exc:
                # The SDK wraps transport errors, except while it reads an error response's
                # body: a server that sends a 500's headers and then closes lands here raw.
                raise openai.APIConnectionError(request=exc.request) from exc
            finally:
                _current.deadline = None

        retrying = Retrying(
            stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.time_budget),
            wait=self._wait,
            sleep=self._sleep,
            retry=retry_if_exception(_is_transient),
            reraise=True,
            before_sleep=lambda s: log.info(
                "model call failed (%s), retry %d after %.2fs",
                type(s.outcome.exception()).__name__, s.attempt_number, s.upcoming_sleep,
            ),
        )
        try:
            result = retrying(attempt)
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that isn't JSON
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt from exc  # a library wrapped the person's Ctrl-C
            if deadline.expired:
                raise self._over_budget(attempts) from None
            raise self._to_model_error(exc, model=model, attempts=attempts) from None
        # A whole answer that arrived as the watchdog fired is kept: it is complete. (A
        # stream's reading is checked against the deadline in `_read`.)
        return result, attempts - 1

    def _over_budget(self, attempts: int) -> ModelError:
        tries = f" (tried {attempts} time{'s' if attempts != 1 else ''})"
        return ModelError(
            f"The model server at {self.shown_url} did not answer in time: it was still "
            f"sending after the time budget of {self.policy.time_budget:g} s{tries}. It may be "
            "overloaded: try again, or allow more time with COACH_TIME_BUDGET (seconds). "
            f"{OFFLINE_HINT}",
            retryable=True,
        )

    def _to_model_error(self, exc: Exception, *, model: str, attempts: int) -> ModelError:
        url = self.shown_url
        tries = f" (tried {attempts} time{'s' if attempts != 1 else ''})"
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(
                f"The model server at {url} did not answer in time{tries}. It may be busy or "
                "still loading the model: try again, or allow more time with COACH_TIMEOUT "
                f"(seconds). {OFFLINE_HINT}",
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError) and isinstance(
            exc.__cause__, httpx2.ProtocolError | httpx2.ReadError
        ):
            return ModelError(
                f"The model server at {url} closed the connection before its answer was "
                f"complete{tries}. Try again; if it keeps happening, check the server's log.",
                retryable=True,
            )
        if isinstance(exc, openai.APIConnectionError):
            return ModelError(
                f"Cannot reach the model server at {url}{tries}. Is it running? Start it "
                f"(e.g. coach serve-local), or fix {wording.BASE_URL}. {OFFLINE_HINT}",
                retryable=True,
            )
        if isinstance(exc, openai.APIStatusError):
            code, msg = exc.status_code, _server_message(exc)
            if code == 401:
                return ModelError(
                    f"The server rejected the API key (401) at {url}. "
                    + wording.either(
                        cli="Set OPENAI_API_KEY to a valid key for this server.",
                        app="Type a valid key for this server in the API key field on the "
                        "Settings page.",
                    )
                    + f" {OFFLINE_HINT}"
                )
            if code == 403:
                return ModelError(
                    f"The server refused access (403) at {url}: {msg}. Check that your key "
                    f"may use model '{model}'. {OFFLINE_HINT}"
                )
            if code == 404:
                return ModelError(
                    f"Model '{model}' not found on server {url} (404: {msg}). Check the name "
                    f"(the server lists its models at {url}/models) and set "
                    f"{wording.MODEL_NAMES}."
                )
            if code == 429:
                return ModelError(
                    f"The model server at {url} is rate limiting requests (429){tries}. "
                    "Wait a minute and try again.",
                    retryable=True,
                )
            if code >= 500:
                return ModelError(
                    f"The model server at {url} failed (HTTP {code}: {msg}){tries}. Try again; "
                    "if it keeps failing, check the server's log.",
                    retryable=True,
                )
            return ModelError(
                f"The model server at {url} rejected the request (HTTP {code}: {msg}). If it "
                "mentions response_format or json, "
                + wording.either(
                    cli="set COACH_STRUCTURED=json_object or COACH_STRUCTURED=prompt.",
                    app="choose json_object or prompt for 'How the rating model returns "
                    "JSON' on the Settings page.",
                )
            )
        # e.g. a 200 whose body is not JSON: the server is misbehaving, a retry may help.
        return ModelError(
            f"The model server at {url} sent a response the client could not read "
            f"({type(exc).__name__}). Check that {wording.BASE_URL} points at an "
            "OpenAI-compatible API (usually ending in /v1).",
            retryable=True,
        )

    # -- ChatModel ------------------------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        response_format: dict[str, Any] | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = None,
    ) -> Completion:
        """See `ChatModel.complete`."""
        start = time.monotonic()
        kwargs: dict[str, Any] = {"model": model, "messages": list(messages),
                                  "temperature": temperature}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens
        if response_format is not None:
            kwargs["response_format"] = response_format

        def fn(timeout: float) -> Any:
            return self._client.chat.completions.create(**kwargs, timeout=timeout)

        deadline = _Deadline(self.policy.time_budget)
        try:
            resp, retries = self._call(fn, model=model, deadline=deadline)
        finally:
            deadline.cancel()
        try:
            choice = resp.choices[0]
            text = printable(choice.message.content or "")
            finish = choice.finish_reason
        except (AttributeError, IndexError, TypeError):
            raise ModelError(
                f"The model server at {self.shown_url} answered without a message. Check that "
                "it is an OpenAI-compatible chat completions API.",
                retryable=True,
            ) from None
        usage: dict[str, int] = {}
        if getattr(resp, "usage", None) is not None:
            usage = {
                "prompt_tokens": int(resp.usage.prompt_tokens or 0),
                "completion_tokens": int(resp.usage.completion_tokens or 0),
            }
        return Completion(
            text=text, usage=usage, latency_ms=(time.monotonic() - start) * 1000,
            retries=retries, finish_reason=finish,
        )

    def stream(
        self,
        messages: Sequence[Message],
        *,
        model: str,
        temperature: float = 0.7,
        max_tokens: int | None = None,
    ) -> Iterator[str]:
        """See `ChatModel.stream`.

        Opening the stream is retried like any call; once chunks have been yielded a
        failure cannot be retried transparently, so it raises ModelError(retryable=True).
        A stream that ends without a finish_reason was cut off and raises too. The time
        budget covers opening *and* reading: a stream still running when it is spent is
        stopped and raises the budget error.
        """
        kwargs: dict[str, Any] = {"model": model, "messages": list(messages),
                                  "temperature": temperature, "stream": True}
        if max_tokens is not None:
            kwargs["max_tokens"] = max_tokens

        def fn(timeout: float) -> Any:
            return self._client.chat.completions.create(**kwargs, timeout=timeout)

        deadline = _Deadline(self.policy.time_budget)
        try:
            stream, attempts = self._call(fn, model=model, deadline=deadline)
            yield from self._read(stream, deadline, attempts + 1)
        finally:
            deadline.cancel()

    def _read(self, stream: Any, deadline: _Deadline, attempts: int) -> Iterator[str]:
        finished = False
        try:
            for chunk in stream:
                if deadline.expired:  # also when the watchdog could not reach the socket
                    raise self._over_budget(attempts)
                for choice in chunk.choices or ():
                    if choice.delta is not None and choice.delta.content:
                        yield printable(choice.delta.content)
                    if choice.finish_reason:
                        finished = True
        except (openai.OpenAIError, httpx2.TransportError, ValueError) as exc:
            if INTERRUPTED.is_set():
                raise KeyboardInterrupt from exc  # a library wrapped the person's Ctrl-C
            if deadline.expired:
                raise self._over_budget(attempts) from None
            raise ModelError(
                f"The model's answer was cut off ({type(exc).__name__}). Try again.",
                retryable=True,
            ) from None
        finally:
            stream.close()
        if deadline.expired:  # the watchdog ended the stream: that is not the model's end
            raise self._over_budget(attempts)
        if not finished:
            raise ModelError(
                "The model's answer was cut off before it finished (the stream ended early). "
                "Try again.",
                retryable=True,
            )

    def list_models(self) -> list[str]:
        """The model ids the server offers. Raises ModelError."""
        deadline = _Deadline(self.policy.time_budget)
        try:
            page, _ = self._call(lambda timeout: self._client.models.list(timeout=timeout),
                                 model="", deadline=deadline)
        finally:
            deadline.cancel()
        return [m.id for m in page.data]
