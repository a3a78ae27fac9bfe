"""Planning a turn (coach/core/turn.py): the partner hears the rating the user sees."""

from __future__ import annotations

from coach.adapters.scenario_files import load_library
from coach.core.reading import Reading, advance_openness, reading_of
from coach.core.rubric import Rating
from coach.core.session import Line
from coach.core.turn import ending_for, merged_error, plan_turn
from coach.judges.base import JudgeContext
from coach.judges.builtin import HeuristicJudge
from tests.llm_fixtures import StubJudge

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


def test_the_ending_turns_on_the_felt_heard_threshold():
    sc = load_library()[SCENARIO]
    assert ending_for(sc, sc.felt_heard_at) == "felt_heard"
    assert ending_for(sc, sc.felt_heard_at - 1) == "not_heard"


def test_before_the_last_turn_there_is_no_ending():
    sc = load_library()[SCENARIO]
    warm = StubJudge(level=2).rate(None)
    plan = plan_turn(sc, rating=warm, builtin=warm, prev_openness=5, turn=sc.turns - 1,
                     flagged=False)
    assert plan.ending is None


def test_the_response_answers_what_the_reply_did():
    """A model rating carries no act tags: what the reply did comes from the built-in tags
    (a bare 'Ok.' is answered as bare, not as heard), and the reading shapes the rest."""
    sc = load_library()[SCENARIO]
    ok = builtin_rating(sc, "Ok.")
    middling = StubJudge(level=1).rate(None)
    plan = plan_turn(sc, rating=middling, builtin=ok, prev_openness=2, turn=1, flagged=False)
    assert plan.reading is Reading.HEARD and plan.response.value == "bare"
    unscored = Rating(status="unscored", reason="no usable answer")
    advice = builtin_rating(sc, ADVICE)
    plan = plan_turn(sc, rating=unscored, builtin=advice, prev_openness=2, turn=1, flagged=False)
    assert plan.reading is Reading.FIXING and plan.response.value == "advice"
