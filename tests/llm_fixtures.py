"""Shared fixtures and helpers for the model-path tests (import what you use)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from coach.adapters.llm import OpenAIChatModel, RetryPolicy
from coach.adapters.scenario_files import load_library
from coach.bench.simulated_server import DEFAULT_MODEL, FakeOpenAIServer
from coach.core.rubric import (
    BY_KEY,
    CRITERION_KEYS,
    CriterionScore,
    Provenance,
    Rating,
    overall_score,
)
from coach.core.scenario import Scenario
from coach.core.session import Line
from coach.judges.base import JudgeContext

MODEL = DEFAULT_MODEL
KEY = "sk-test-SECRET-do-not-leak-1234"

# Short enough to keep the suite fast, long enough to see real retries happen.
FAST = RetryPolicy(max_attempts=3, time_budget=5.0, backoff_initial=0.01, backoff_max=0.05,
                   jitter=0.01, retry_after_cap=2.0)


def wait_for(cond, seconds: float) -> bool:
    """Poll `cond` until it holds or `seconds` pass; whether it held. A bound, not a timing."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 (ephemeral port)."""
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def chat(fake_server: FakeOpenAIServer) -> OpenAIChatModel:
    """A real OpenAI client pointed at the fake server, with the fast retry policy."""
    return OpenAIChatModel(base_url=fake_server.base_url, api_key=KEY, timeout=2.0, policy=FAST)


@pytest.fixture(scope="session")
def scenario() -> Scenario:
    """The venting scenario (its partner is Maya, whom the tests name)."""
    return load_library()["vent-humiliated-at-work"]


class StubJudge:
    """A stand-in fallback judge: the same level on every criterion."""

    name = "stub"

    def __init__(self, level: int = 0) -> None:
        self.level = level
        self.calls = 0

    def rate(self, ctx: JudgeContext) -> Rating:
        self.calls += 1
        scores = {k: CriterionScore(level=self.level) for k in CRITERION_KEYS}
        return Rating(scores=scores, overall=overall_score(scores, {}),
                      source=Provenance(backend="stub"),
                      tip="stub tip")


def judge_output(reply: str, level: int = 1, quote: str | None = None,
                 drop: tuple[str, ...] = ()) -> dict:
    """A judge answer as a dict: `level` everywhere, `quote` as evidence on every criterion
    that rewards something said (a positive level needs a quote; inverse criteria get
    none)."""
    quote = reply.split(".")[0] if quote is None else quote
    scores = {k: {"level": level,
                  "evidence": [quote] if BY_KEY[k].inverse_of is None and level else []}
              for k in CRITERION_KEYS if k not in drop}
    return {"scores": scores, "flags": [], "tip": "Name the feeling first.",
            "better_reply": "That sounds humiliating. What was the worst part?"}


def judge_json(reply: str, **kw: object) -> str:
    """`judge_output` as JSON text."""
    return json.dumps(judge_output(reply, **kw))  # type: ignore[arg-type]


def context(scenario: Scenario, reply: str) -> JudgeContext:
    """A turn-1 judge context for `reply` in `scenario`."""
    return JudgeContext(reply=reply, history=(Line("partner", scenario.opening),),
                        scenario=scenario, turn=1)
