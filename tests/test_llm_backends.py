"""Backends: offline vs model, the connection check, and a whole session over HTTP."""

from __future__ import annotations

import sys
import types

import pytest

from coach.adapters.config import resolve_config
from coach.application.backends import OFFLINE_LABEL, check_connection, make_backend
from coach.bench.simulated_server import FakeOpenAIServer
from coach.core.errors import ModelError
from coach.core.reading import advance_openness, reading_of
from coach.core.session import Line
from coach.core.turn import ending_for
from coach.judges.base import JudgeContext
from coach.judges.model import LLMJudge
from coach.partners.base import PartnerContext
from coach.partners.model import LLMPartner
from coach.partners.scripted import ScriptedPartner
from tests.llm_fixtures import MODEL, StubJudge, fake_server, scenario  # noqa: F401


def config_for(srv: FakeOpenAIServer, model: str = MODEL):
    return resolve_config(env={"OPENAI_BASE_URL": srv.base_url, "COACH_PARTNER_MODEL": model,
                               "COACH_TIMEOUT": "5"})


def test_offline_backend(monkeypatch) -> None:
    fake_mod = types.ModuleType("coach.judges.builtin")
    fake_mod.HeuristicJudge = StubJudge  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "coach.judges.builtin", fake_mod)
    backend = make_backend(None)
    assert backend.offline and backend.label == OFFLINE_LABEL
    assert isinstance(backend.partner, ScriptedPartner) and isinstance(backend.judge, StubJudge)


def test_model_backend(fake_server) -> None:  # noqa: F811
    backend = make_backend(config_for(fake_server), fallback=StubJudge())
    assert not backend.offline
    assert isinstance(backend.judge, LLMJudge) and isinstance(backend.partner, LLMPartner)
    assert backend.judge.structured == "json_object"
    assert MODEL in backend.label and fake_server.base_url in backend.label
    assert fake_server.requests == []  # building a backend does not touch the server


def test_check_connection(fake_server) -> None:  # noqa: F811
    assert "serving fake-model" in check_connection(config_for(fake_server))
    with pytest.raises(ModelError, match="does not serve other.*It serves: fake-model"):
        check_connection(config_for(fake_server, "other"))


def test_check_connection_unreachable() -> None:
    with FakeOpenAIServer() as srv:
        cfg = config_for(srv)
    with pytest.raises(ModelError, match="Cannot reach the model server") as e:
        check_connection(cfg)
    assert e.value.retryable


def test_a_whole_session_over_http(scenario) -> None:  # noqa: F811
    """The engine's loop, in small: judge each reply, move openness, let the partner answer."""
    with FakeOpenAIServer() as srv:
        backend = make_backend(config_for(srv), fallback=StubJudge())
        history = [Line("partner", scenario.opening)]
        openness = scenario.start_openness
        replies = ["Oh love, that's humiliating. What was it like?", "I'm here. Tell me more."]
        for turn, reply in enumerate(replies, start=1):
            rating = backend.judge.rate(JudgeContext(reply, tuple(history), scenario, turn))
            assert rating.status == "scored" and not rating.source.fallback
            assert all(q in reply for s in rating.scores.values() for q in s.evidence)
            history.append(Line("user", reply))
            reading = reading_of(rating)
            openness = advance_openness(openness, reading)
            ending = ending_for(scenario, openness) if turn == len(replies) else None
            line = "".join(backend.partner.respond(
                PartnerContext(scenario, tuple(history), reading, openness, turn, ending)))
            assert line.strip()
            history.append(Line("partner", line))
        assert len(srv.chat_requests) == 4
