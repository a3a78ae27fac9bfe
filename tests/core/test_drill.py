"""The next drill (coach.core.drill): the weakest skill over the last sessions, and the scenario
that trains it best."""

from __future__ import annotations

from coach.core.drill import best_scenario_for, drill_words, suggest_drill
from coach.core.rubric import CRITERIA, CriterionScore, Rating
from coach.core.session import SessionInfo, Turn


def _rated(session: str, created: float, low: str, level: int = 0) -> tuple[SessionInfo, Turn]:
    scores = {c.key: CriterionScore(level=level if c.key == low else 2) for c in CRITERIA}
    info = SessionInfo(session, "s", "t", "offline", created, created)
    turn = Turn(1, session, None, 1, "user", 1, "x", rating=Rating(scores=scores, overall=50))
    return info, turn


def test_the_weakest_skill_is_taken_over_the_last_sessions_only(library):
    rated = [_rated("old", 1.0, "warmth")] * 4  # long ago: no longer counts
    rated += [_rated(f"s{i}", 10.0 + i, "exploration", level=1) for i in range(5)]
    d = suggest_drill(rated, library, last=5)
    assert d.criterion.key == "exploration" and d.level == 1.0 and d.sessions == 5
    assert suggest_drill(rated, library, last=6).criterion.key == "warmth"


def test_the_scenario_weighs_that_skill_most(library):
    for c in CRITERIA:
        best = best_scenario_for(c.key, library)
        assert all(best.weight(c.key) >= sc.weight(c.key) for sc in library.values())
    d = suggest_drill([_rated("a", 1.0, "asks_needs")], library)
    assert d.scenario == best_scenario_for("asks_needs", library)


def test_nothing_scored_means_no_drill(library):
    info, turn = _rated("a", 1.0, "warmth")
    unscored = Turn(2, "a", None, 1, "user", 1, "x", rating=Rating(status="unscored"))
    assert suggest_drill([(info, unscored)], library) is None
    assert suggest_drill([], library) is None


def test_a_suggestion_sent_unchanged_does_not_count(library):
    info, turn = _rated("a", 1.0, "warmth")
    copied = Turn(2, "a", None, 2, "user", 1, "x",
                  rating=turn.rating.model_copy(update={"suggested": True}))
    assert suggest_drill([(info, copied)], library) is None
    assert suggest_drill([(info, turn), (info, copied)], library).criterion.key == "warmth"


def _weighted(library, sid: str, weights: dict[str, float], difficulty: str = "medium",
              title: str = "T"):
    base = next(iter(library.values()))
    return base.model_copy(update={"id": sid, "weights": weights, "difficulty": difficulty,
                                   "title": title})


def test_on_equal_weight_the_scenario_where_it_weighs_the_larger_share_wins(library):
    others = {c.key: 1.0 for c in CRITERIA if c.key != "warmth"}
    broad = _weighted(library, "broad", {"warmth": 3, **{k: 5 for k in others}})
    narrow = _weighted(library, "narrow", {"warmth": 3, **{k: 0 for k in others}})
    assert best_scenario_for("warmth", {"b": broad, "n": narrow}).id == "narrow"
    heavier = _weighted(library, "heavier", {"warmth": 4, **{k: 5 for k in others}})
    assert best_scenario_for("warmth", {"n": narrow, "h": heavier}).id == "heavier"


def test_then_the_easier_then_the_title_decides(library):
    same = {c.key: 1.0 for c in CRITERIA}
    hard = _weighted(library, "hard", same, "hard", "A")
    easy = _weighted(library, "easy", same, "easy", "B")
    assert best_scenario_for("warmth", {"h": hard, "e": easy}).id == "easy"
    b = _weighted(library, "b", same, "easy", "Beta")
    a = _weighted(library, "a", same, "easy", "Alpha")
    assert best_scenario_for("warmth", {"b": b, "a": a}).id == "a"


def test_a_scenario_that_weighs_nothing_can_still_be_chosen(library):
    nothing = _weighted(library, "nothing", {c.key: 0 for c in CRITERIA})
    assert best_scenario_for("warmth", {"x": nothing}).id == "nothing"


def test_an_empty_library_has_no_scenario_and_no_drill():
    assert best_scenario_for("warmth", {}) is None
    assert suggest_drill([_rated("a", 1.0, "warmth")], {}) is None


def test_the_level_is_the_mean_rounded_to_two_decimals(library):
    rated = [_rated("a", 1.0, "warmth", 0), _rated("a", 1.0, "warmth", 0),
             _rated("a", 1.0, "warmth", 1)]
    d = suggest_drill(rated, library)
    assert d.criterion.key == "warmth" and d.level == 0.33 and d.sessions == 1


def test_the_drill_in_one_sentence(library):
    d = suggest_drill([_rated("a", 1.0, "warmth", 1)], library)
    assert drill_words(d) == (
        f"Your weakest skill over your last session is Warmth (average level 1.0 of 2). "
        f"The scenario that trains it best: {d.scenario.title}."
    )
    rated = [_rated(f"s{i}", float(i), "exploration", 0) for i in range(3)]
    assert drill_words(suggest_drill(rated, library)).startswith(
        "Your weakest skill over your last 3 sessions is Exploration (average level 0.0 of 2)")
