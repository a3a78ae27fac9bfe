"""The next drill (coach.core.drill): the weakest skill over the last sessions, and the scenario
that trains it best."""

from __future__ import annotations

from coach.core.drill import best_scenario_for, suggest_drill
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
