"""Session metrics and the debrief (coach/core/metrics.py), from Turn values."""

from __future__ import annotations

import pytest

from coach.adapters.scenario_files import load_library
from coach.core.metrics import (
    MITI_NORMS,
    SessionMetrics,
    debrief,
    features_of,
    level_band,
    session_metrics,
)
from coach.core.rubric import BY_KEY, TIPS, Act
from tests.core.helpers import all_levels, rating, turn

VENT = load_library()["vent-humiliated-at-work"]


def _m(**values) -> SessionMetrics:
    base = dict(replies=1, reflections=0, complex_reflections=0, questions=0, open_questions=0,
                reflection_to_question=None, complex_reflection_share=None,
                open_question_share=None, advice_before_validation=0, user_word_share=None)
    return SessionMetrics(**{**base, **values})


def test_miti_norms_are_the_published_ones() -> None:
    # MITI 4.2: R:Q 1:1 fair, 2:1 good; complex reflections 40% fair, 50% good.
    assert MITI_NORMS == {
        "reflection_to_question": {"fair": 1.0, "good": 2.0},
        "complex_reflection_share": {"fair": 0.40, "good": 0.50},
    }


@pytest.mark.parametrize(
    ("name", "value", "band"),
    [
        ("reflection_to_question", None, "n/a"),
        ("reflection_to_question", 0.99, "below fair"),
        ("reflection_to_question", 1.0, "fair"),
        ("reflection_to_question", 1.99, "fair"),
        ("reflection_to_question", 2.0, "good"),
        ("complex_reflection_share", 0.39, "below fair"),
        ("complex_reflection_share", 0.4, "fair"),
        ("complex_reflection_share", 0.49, "fair"),
        ("complex_reflection_share", 0.5, "good"),
    ],
)
def test_miti_band(name, value, band) -> None:
    assert _m(**{name: value}).miti_band(name) == band


def test_level_band_draws_the_debrief_line() -> None:
    assert [level_band(x) for x in (0, 0.49, 0.5, 1.49, 1.5, 2)] == [0, 0, 1, 1, 2, 2]


def test_features_count_each_act_kind() -> None:
    kinds = ["open_question", "closed_question", "closed_question", "simple_reflection",
             "complex_reflection", "complex_reflection", "advice", "validation"]
    f = features_of([Act(kind=k, quote="q") for k in kinds])
    assert (f.questions, f.open_questions, f.reflections, f.complex_reflections, f.advice) == \
        (3, 1, 3, 2, 1)


def test_session_metrics_count_the_scored_replies_acts() -> None:
    path = [
        turn(1, None, "partner", 0, "one two three four five six"),
        turn(2, 1, "user", 1, "a b", rating=rating(
            all_levels(2), acts=("simple_reflection", "complex_reflection", "open_question"))),
        turn(3, 2, "partner", 1, "x"),
        turn(4, 3, "user", 2, "c", rating=rating(
            all_levels(2), acts=("complex_reflection", "closed_question"))),
        # unscored: its acts count for nothing
        turn(5, 4, "user", 3, "d", rating=rating(
            status="unscored", acts=("simple_reflection", "open_question"))),
        turn(6, 5, "user", 4, "e"),
        # a scored reply after them still counts
        turn(7, 6, "user", 5, "f", rating=rating(all_levels(2), acts=("simple_reflection",))),
    ]
    m = session_metrics(path)
    assert m.replies == 5
    assert (m.reflections, m.complex_reflections, m.questions, m.open_questions) == (4, 2, 2, 1)
    assert m.reflection_to_question == 2.0
    assert m.complex_reflection_share == 0.5
    assert m.open_question_share == 0.5
    assert m.user_word_share == 0.46  # 6 of 13 words
    assert m.advice_before_validation == 0


def test_metrics_have_no_ratio_without_a_denominator() -> None:
    m = session_metrics([turn(1, None, "partner", 0, "")])
    assert m.replies == 0 and m.reflection_to_question is None
    assert m.complex_reflection_share is None and m.open_question_share is None
    assert m.user_word_share == 0.0  # the opening line only
    only_refl = session_metrics([turn(2, None, "user", 1, "x", rating=rating(
        all_levels(2), acts=("simple_reflection",)))])
    assert only_refl.reflections == 1 and only_refl.reflection_to_question is None


def test_advice_counts_only_before_the_first_validating_reply() -> None:
    fix = {**all_levels(0), "no_fixing": 0}
    path = [
        turn(2, None, "user", 1, rating=rating(fix)),
        turn(3, None, "user", 2, rating=rating(fix)),
        turn(4, None, "user", 3, rating=rating({**fix, "validation": 1})),
        turn(5, None, "user", 4, rating=rating(fix)),
    ]
    assert session_metrics(path).advice_before_validation == 3
    understood = [turn(2, None, "user", 1, rating=rating({**fix, "understanding": 1})),
                  turn(3, None, "user", 2, rating=rating(fix))]
    assert session_metrics(understood).advice_before_validation == 1
    # a partial fix is not advice first; an unscored reply counts for nothing
    assert session_metrics([turn(2, None, "user", 1, rating=rating({"no_fixing": 1})),
                            turn(3, None, "user", 2, rating=rating(fix, status="unscored"))]
                           ).advice_before_validation == 0


def test_debrief_names_strengths_gaps_and_the_best_reply() -> None:
    strong = {**all_levels(2), "no_fixing": 0, "asks_needs": 1, "exploration": 1}
    path = [
        turn(1, None, "partner", 0),
        turn(2, 1, "user", 1, "first", rating=rating(strong, overall=60.0)),
        turn(3, 2, "partner", 1),
        turn(4, 3, "user", 2, "second", rating=rating(strong, overall=70.0)),
        turn(5, 4, "partner", 2, ending="opened_up"),
    ]
    d = debrief(VENT, path)
    assert d.ended == "opened_up"
    assert d.overall == 65.0 and d.best_reply == "second"
    assert d.hidden_need == VENT.hidden_need
    assert d.mean_levels["no_fixing"] == 0
    assert len(d.went_well) == 3  # at most three strengths, highest then by key
    keys = sorted(k for k, v in strong.items() if v == 2)[:3]
    assert d.went_well == [f"{BY_KEY[k].name} (2.0/2): {BY_KEY[k].strong}" for k in keys]
    assert len(d.try_next) == 3
    assert d.try_next[0] == f"{BY_KEY['no_fixing'].name}: {TIPS['no_fixing']}"
    assert {t.split(":")[0] for t in d.try_next} == {
        BY_KEY[k].name for k in ("no_fixing", "asks_needs", "exploration")}
    assert d.metrics == session_metrics(path)


def test_debrief_with_nothing_strong_still_says_something_kind() -> None:
    path = [turn(1, None, "partner", 0),
            turn(2, 1, "user", 1, rating=rating(all_levels(1), overall=50.0))]
    d = debrief(VENT, path)
    assert d.went_well == ["You stayed in the conversation to the end; that is where "
                           "listening starts."]
    assert d.ended is None
    empty = debrief(VENT, [turn(1, None, "partner", 0)])
    assert empty.went_well == [] and empty.try_next == [] and empty.best_reply is None


def test_debrief_orders_gaps_by_the_scenarios_weights() -> None:
    sc = VENT.model_copy(update={"weights": {"warmth": 3.0}})
    levels = {**all_levels(2), "warmth": 1, "validation": 0}
    path = [turn(2, None, "user", 1, rating=rating(levels, overall=50.0))]
    # warmth: 3 * (2 - 1) = 3 beats validation: 1 * (2 - 0) = 2
    assert [t.split(":")[0] for t in debrief(sc, path).try_next] == [
        BY_KEY["warmth"].name, BY_KEY["validation"].name]
    assert [t.split(":")[0] for t in debrief(VENT, path).try_next] == [
        BY_KEY["validation"].name, BY_KEY["warmth"].name]


def test_debrief_ranks_strengths_by_level_and_keeps_the_line_at_strong() -> None:
    # means: validation 2, warmth 2, asks_needs 1.5, understanding 1.5, exploration 0
    one = {**all_levels(2), "asks_needs": 2, "understanding": 1, "exploration": 0}
    two = {**all_levels(2), "asks_needs": 1, "understanding": 2, "exploration": 0}
    path = [turn(2, None, "user", 1, "a", rating=rating(one, overall=60.0)),
            turn(3, None, "user", 2, "b"),  # not rated yet
            turn(4, None, "user", 3, "c", rating=rating(two, overall=None, status="unscored")),
            turn(5, None, "user", 4, "d", rating=rating(two, overall=70.0))]
    d = debrief(VENT, path)
    names = [w.split(" (")[0] for w in d.went_well]
    top = sorted(k for k in ("warmth", "validation", "no_fixing", "stays_with_them",
                             "no_dismissing"))[:2]
    assert names[:2] == [BY_KEY[k].name for k in top]
    assert d.try_next == [f"{BY_KEY['exploration'].name}: {TIPS['exploration']}"]
    assert d.best_reply == "d"
    only_half = [turn(2, None, "user", 1, rating=rating({"warmth": 2})),
                 turn(3, None, "user", 2, rating=rating({"warmth": 1}))]
    d = debrief(VENT, only_half)
    assert d.went_well == [f"{BY_KEY['warmth'].name} (1.5/2): {BY_KEY['warmth'].strong}"]
    assert d.try_next == []


def test_debrief_shows_at_most_three_gaps_weighted_by_distance_to_strong() -> None:
    sc = VENT.model_copy(update={"weights": {"warmth": 1.8}})
    levels = {**all_levels(2), "warmth": 1, "validation": 0}
    path = [turn(2, None, "user", 1, rating=rating(levels, overall=50.0))]
    # warmth: 1.8 * (2 - 1) = 1.8 is below validation: 1 * (2 - 0) = 2
    assert [t.split(":")[0] for t in debrief(sc, path).try_next] == [
        BY_KEY["validation"].name, BY_KEY["warmth"].name]
    many = [turn(2, None, "user", 1, rating=rating(all_levels(0), overall=0.0))]
    assert len(debrief(VENT, many).try_next) == 3


def test_restraint_alone_is_no_strength_and_a_reply_that_hurt_is_never_the_best() -> None:
    # "Ok." every turn, or replies that hurt: nothing given away, nothing heard. Holding
    # back is praised only beside some listening, and a flagged reply is never held up.
    quiet = {**all_levels(0), "no_fixing": 2, "stays_with_them": 2, "no_dismissing": 2}
    path = [turn(2, None, "user", 1, "Ok.", rating=rating(quiet, overall=20.0)),
            turn(3, None, "user", 2, "You always overreact.",
                 rating=rating(quiet, overall=25.0, flags=("criticism",)))]
    d = debrief(VENT, path)
    assert not any(w.startswith(BY_KEY["no_fixing"].name) for w in d.went_well)
    assert d.went_well == ["You stayed in the conversation to the end; that is where "
                           "listening starts."]
    assert d.best_reply == "Ok."
    listened = [turn(2, None, "user", 1, "a", rating=rating({**quiet, "understanding": 1}))]
    assert any(w.startswith(BY_KEY["no_fixing"].name) for w in debrief(VENT, listened).went_well)
    # half a level of listening on average (one reflection in two replies) is some listening
    half = [turn(2, None, "user", 1, "a", rating=rating({**quiet, "understanding": 1})),
            turn(4, None, "user", 2, "b", rating=rating(quiet))]
    assert any(w.startswith(BY_KEY["no_fixing"].name) for w in debrief(VENT, half).went_well)
    only_hurt = [turn(2, None, "user", 1, "x", rating=rating(quiet, overall=5.0,
                                                             flags=("contempt",)))]
    assert debrief(VENT, only_hurt).best_reply is None
