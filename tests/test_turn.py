"""Planning a turn (coach/core/turn.py), and the engine honouring it: the partner hears the judge
the user sees, whichever judge gave the rating."""

from __future__ import annotations

from coach.adapters.config import resolve_config
from coach.adapters.scenario_files import load_library
from coach.adapters.store import Store
from coach.application.backends import make_backend
from coach.application.engine import Engine
from coach.bench.simulated_server import FakeOpenAIServer, Reply
from coach.core.reading import Reading, advance_openness, reading_of
from coach.core.rubric import Rating
from coach.core.session import Line
from coach.core.turn import merged_error, plan_turn
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge
from coach.partners.model import HOW_TAKEN
from tests.llm_fixtures import MODEL, StubJudge, judge_json

SCENARIO = "vent-humiliated-at-work"
ADVICE = "You should talk to HR tomorrow."


def builtin_rating(sc, reply: str) -> Rating:
    return HeuristicJudge().rate(JudgeContext(reply, (Line("partner", sc.opening),), sc, 1))


def test_the_plan_follows_the_shown_rating_not_the_builtin_one():
    sc = load_library()[SCENARIO]
    builtin = builtin_rating(sc, ADVICE)
    warm = StubJudge(level=2).rate(None)  # every criterion at 2
    plan = plan_turn(sc, rating=warm, builtin=builtin, prev_openness=2, turn=1, flagged=False)
    assert plan.reading == reading_of(warm) != reading_of(builtin)
    assert plan.openness == advance_openness(2, reading_of(warm))
    assert plan.ending is None and not plan.pause


def test_without_a_verdict_the_builtin_reading_stands_in():
    sc = load_library()[SCENARIO]
    builtin = builtin_rating(sc, ADVICE)
    unscored = Rating(status="unscored", reason="The model's answer was not JSON.")
    for rating in (None, unscored):
        plan = plan_turn(sc, rating=rating, builtin=builtin, prev_openness=2, turn=1,
                         flagged=False)
        assert plan.reading == reading_of(builtin)


def test_a_safety_concern_pauses_and_never_ends():
    sc = load_library()[SCENARIO]
    builtin = builtin_rating(sc, ADVICE)
    plan = plan_turn(sc, rating=builtin, builtin=builtin, prev_openness=2, turn=sc.turns,
                     flagged=True)
    assert plan.pause and plan.ending is None and plan.reading is Reading.NEUTRAL


def test_the_last_turn_ends_by_openness():
    sc = load_library()[SCENARIO]
    warm = StubJudge(level=2).rate(None)
    plan = plan_turn(sc, rating=warm, builtin=warm, prev_openness=sc.felt_heard_at, turn=sc.turns,
                     flagged=False)
    assert plan.ending == "felt_heard"


def test_one_failure_said_once_two_named_by_role():
    assert merged_error([("judge", "Server down."), ("partner", "Server down.")]) == "Server down."
    assert merged_error([("judge", "Bad JSON."), ("partner", "Timed out.")]) == (
        "judge: Bad JSON. partner: Timed out."
    )
    assert merged_error([]) == ""


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
