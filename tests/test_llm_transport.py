"""The real openai client over real HTTP against the fake server: retries and errors."""

from __future__ import annotations

import logging
import socket

import pytest

from coach.adapters.llm import OpenAIChatModel, RetryPolicy
from coach.bench.simulated_server import Fault, Hang, MalformedBody, Reply, TruncatedStream
from coach.core.errors import ModelError
from tests.llm_fixtures import FAST, KEY, MODEL, chat, fake_server  # noqa: F401

HI = [{"role": "user", "content": "hi"}]


def test_completion_ok(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(Reply("Hello there."))
    done = chat.complete(HI, model=MODEL, max_tokens=20)
    assert done.text == "Hello there."
    assert done.usage["completion_tokens"] == 2 and done.usage["prompt_tokens"] >= 1
    assert done.retries == 0 and done.latency_ms > 0
    (req,) = fake_server.chat_requests
    assert req.body["messages"] == HI and req.body["max_tokens"] == 20
    assert req.headers["authorization"] == "Bearer ***"  # recorded, but redacted


def test_stream_yields_chunks_in_order(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(Reply("one two three four"))
    chunks = list(chat.stream(HI, model=MODEL))
    assert chunks == ["one ", "two ", "three ", "four"]
    assert fake_server.chat_requests[0].body["stream"] is True


class Waits(list):
    """Records the waits the retry layer asks for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_429_honours_retry_after(fake_server) -> None:  # noqa: F811
    waits = Waits()
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2, policy=FAST,
                            sleep=waits)
    fake_server.enqueue(Fault(429, retry_after=1), Reply("ok"))
    done = model.complete(HI, model=MODEL)
    assert done.text == "ok" and done.retries == 1
    assert len(fake_server.chat_requests) == 2
    assert waits == [1.0]  # the server's Retry-After, not the ~0.01 s back-off


def test_retry_after_is_capped(fake_server) -> None:  # noqa: F811
    policy = RetryPolicy(max_attempts=2, time_budget=5, backoff_initial=0.01, jitter=0,
                         retry_after_cap=0.2)
    waits = Waits()
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2, policy=policy,
                            sleep=waits)
    fake_server.enqueue(Fault(429, retry_after=30), Reply("ok"))
    assert model.complete(HI, model=MODEL).text == "ok"
    assert waits == [0.2]  # asked for 30 s, capped


def test_500_then_success(fake_server) -> None:  # noqa: F811
    policy = RetryPolicy(max_attempts=3, time_budget=5, backoff_initial=0.25, jitter=0)
    waits = Waits()
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2, policy=policy,
                            sleep=waits)
    fake_server.enqueue(Fault(500), Fault(502), Reply("ok"))
    assert model.complete(HI, model=MODEL).text == "ok"
    assert len(fake_server.chat_requests) == 3
    assert waits == [0.25, 0.5]  # exponential back-off without a Retry-After


def test_always_500_gives_up_after_max_attempts(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(*[Fault(503, "overloaded")] * 10)
    with pytest.raises(ModelError) as e:
        chat.complete(HI, model=MODEL)
    assert len(fake_server.chat_requests) == FAST.max_attempts == 3
    assert e.value.retryable
    assert "HTTP 503: overloaded" in str(e.value) and "tried 3 times" in str(e.value)


def test_hang_is_retried_then_reported(fake_server) -> None:  # noqa: F811
    policy = RetryPolicy(max_attempts=2, time_budget=30, backoff_initial=0.01, jitter=0)
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=0.2,
                            policy=policy, sleep=Waits())
    fake_server.enqueue(*[Hang(10)] * 3)
    with pytest.raises(ModelError) as e:
        model.complete(HI, model=MODEL)
    assert len(fake_server.chat_requests) == 2
    assert e.value.retryable
    assert "did not answer in time (tried 2 times)" in str(e.value)


def test_time_budget_bounds_a_request_longer_than_the_timeout(fake_server) -> None:  # noqa: F811
    # A 60 s request timeout, but a 0.5 s budget: the request is cut at the budget (the
    # hang would otherwise end in a reply after 10 s), and no retry starts after it.
    policy = RetryPolicy(max_attempts=5, time_budget=0.5, backoff_initial=1.0, jitter=0)
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=60,
                            policy=policy, sleep=Waits())
    fake_server.enqueue(*[Hang(10)] * 5)
    with pytest.raises(ModelError, match="did not answer in time") as e:
        model.complete(HI, model=MODEL)
    assert len(fake_server.chat_requests) == 1 and "tried 1 time)" in str(e.value)


@pytest.mark.parametrize(
    ("status", "needle"),
    [
        (400, "rejected the request (HTTP 400"),
        (401, "rejected the API key (401)"),
        (403, "refused access (403)"),
        (404, f"Model '{MODEL}' not found"),
        (422, "HTTP 422"),
    ],
)
def test_client_errors_are_not_retried(fake_server, chat, status, needle) -> None:  # noqa: F811
    fake_server.enqueue(Fault(status), Reply("never sent"))
    with pytest.raises(ModelError) as e:
        chat.complete(HI, model=MODEL)
    assert len(fake_server.chat_requests) == 1
    assert needle in str(e.value) and not e.value.retryable


def test_wrong_key_and_unknown_model(fake_server) -> None:  # noqa: F811
    fake_server.api_key = "the-right-key"
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2, policy=FAST)
    with pytest.raises(ModelError, match="Set OPENAI_API_KEY"):
        model.complete(HI, model=MODEL)
    fake_server.api_key = None
    with pytest.raises(ModelError, match="Model 'nope' not found.*COACH_JUDGE_MODEL"):
        model.complete(HI, model="nope")
    assert len(fake_server.chat_requests) == 2


def test_truncated_stream_raises(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(TruncatedStream("I was trying to say that it hurt", chunks=3))
    got: list[str] = []
    with pytest.raises(ModelError, match="cut off") as e:
        for chunk in chat.stream(HI, model=MODEL):
            got.append(chunk)
    assert e.value.retryable
    assert "".join(got) == "I was trying "  # what came before the break, nothing invented


def test_stream_opening_is_retried(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(Fault(502), Reply("fine then"))
    assert "".join(chat.stream(HI, model=MODEL)) == "fine then"
    assert len(fake_server.chat_requests) == 2


def test_error_whose_body_never_arrives_is_retried(fake_server, chat) -> None:  # noqa: F811
    # The SDK reads an error's body outside its own error wrapping: the raw transport error
    # must still be a retryable model error, not a traceback.
    fake_server.enqueue(Fault(500, body_lost=True), Reply("fine then"))
    assert "".join(chat.stream(HI, model=MODEL)) == "fine then"
    assert len(fake_server.chat_requests) == 2


def test_error_whose_body_never_arrives_says_so(fake_server, chat) -> None:  # noqa: F811
    fake_server.handler = lambda req: Fault(500, body_lost=True)
    with pytest.raises(ModelError, match="closed the connection before its answer") as e:
        "".join(chat.stream(HI, model=MODEL))
    assert e.value.retryable
    assert len(fake_server.chat_requests) > 1  # retried before giving up


def test_malformed_body(fake_server, chat) -> None:  # noqa: F811
    fake_server.enqueue(MalformedBody())
    with pytest.raises(ModelError, match="could not read") as e:
        chat.complete(HI, model=MODEL)
    assert e.value.retryable


def test_unreachable_server_says_what_to_do() -> None:
    with socket.socket() as s:  # a port that is certainly closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAIChatModel(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout=1,
                            policy=FAST)
    with pytest.raises(ModelError) as e:
        model.complete(HI, model=MODEL)
    msg = str(e.value)
    assert e.value.retryable
    assert f"Cannot reach the model server at http://127.0.0.1:{port}/v1" in msg
    assert "OPENAI_BASE_URL" in msg and "unset COACH_PARTNER_MODEL" in msg
    assert "tried 3 times" in msg


def test_key_never_logged(fake_server, caplog) -> None:  # noqa: F811
    model = OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2, policy=FAST)
    fake_server.enqueue(Fault(500), Reply("ok"), Fault(401))
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        model.complete(HI, model=MODEL)
        try:
            model.complete(HI, model=MODEL)
        except ModelError as e:
            errors.append(str(e))
    assert caplog.records  # debug logging really was captured (SDK and our retry log)
    assert KEY not in caplog.text and KEY not in repr(model) and KEY not in errors[0]


def test_list_models(fake_server, chat) -> None:  # noqa: F811
    assert chat.list_models() == [MODEL]
