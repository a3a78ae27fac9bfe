"""The engine honours the turn plan (coach/core/turn.py): the partner hears the judge the
user sees, whichever judge gave the rating."""

from __future__ import annotations

from coach.adapters.config import resolve_config
from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import make_backend
from coach.application.engine import Engine
from coach.bench.simulated_server import FakeOpenAIServer, Reply
from coach.core.reading import advance_openness, reading_of
from coach.core.rubric import Rating
from coach.core.session import Line
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge
from coach.partners.model import HOW_TAKEN
from tests.llm_fixtures import MODEL, StubJudge, judge_json

SCENARIO = "vent-humiliated-at-work"
ADVICE = "You should talk to HR tomorrow."


def builtin_rating(sc, reply: str) -> Rating:
    return HeuristicJudge().rate(JudgeContext(reply, (Line("partner", sc.opening),), sc, 1))


def test_with_a_model_judge_the_partner_hears_the_models_rating(tmp_path):
    """The built-in rules read advice here; the model judge rates it 2 everywhere. The partner's
    reading and openness follow the model, and its prompt is built from that reading."""
    sc = load_library()[SCENARIO]
    builtin = builtin_rating(sc, ADVICE)
    with FakeOpenAIServer() as srv:
        cfg = resolve_config(env={"OPENAI_BASE_URL": srv.base_url, "COACH_PARTNER_MODEL": MODEL,
                                  "COACH_TIMEOUT": "5"})
        srv.enqueue(Reply(judge_json(ADVICE, level=2, quote="talk to HR")), Reply("Okay. Thanks."))
        eng = Engine(Store(tmp_path / "c.db"), make_backend(cfg, fallback=StubJudge()),
                     load_library())
        info, _ = eng.start(SCENARIO)
        result = eng.reply(info.id, ADVICE)
    assert result.rating is not None and result.rating.source.backend != "heuristic"
    model_reading = reading_of(result.rating)
    assert model_reading != reading_of(builtin)
    assert result.user.reading == model_reading
    assert result.partner.openness == advance_openness(sc.start_openness, model_reading)
    # the judge was asked first, then the partner, with the model's reading
    assert len(srv.chat_requests) == 2
    partner_prompt = str(srv.chat_requests[1].messages)
    taken = HOW_TAKEN[model_reading]
    assert taken[:1].upper() + taken[1:] in partner_prompt
    assert HOW_TAKEN[reading_of(builtin)][1:] not in partner_prompt
