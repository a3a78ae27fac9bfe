"""The rubric (coach/core/rubric.py): a rating's levels and act counts, the weighted overall
score, and the fingerprint every prompt version carries."""

from __future__ import annotations

import dataclasses

from coach.core import rubric
from coach.core.rubric import CriterionScore, overall_score, rubric_fingerprint
from tests.core.helpers import rating


def _levels(**levels: int) -> dict[str, CriterionScore]:
    return {k: CriterionScore(level=v) for k, v in levels.items()}


def test_the_overall_is_the_weighted_share_of_the_top_levels() -> None:
    # (3*2 + 1*0) / (3*2 + 1*2) = 6 / 8
    assert overall_score(_levels(warmth=2, validation=0), {"warmth": 3, "validation": 1}) == 75.0
    # a missing weight weighs 1: (2 + 1) / 4
    assert overall_score(_levels(warmth=2, validation=1), {}) == 75.0
    assert overall_score(_levels(warmth=2, validation=1), {"warmth": 1.0}) == 75.0


def test_the_overall_rounds_to_one_decimal() -> None:
    # 100 * 1 / 6 = 16.666...
    assert overall_score(_levels(warmth=1, validation=0, exploration=0), {}) == 16.7
    assert overall_score(_levels(warmth=2, validation=2, exploration=1), {}) == 83.3


def test_a_zero_weight_leaves_a_criterion_out() -> None:
    assert overall_score(_levels(warmth=2, validation=0), {"validation": 0}) == 100.0
    assert overall_score(_levels(warmth=1), {"warmth": 0}) == 0.0  # nothing weighed
    assert overall_score({}, {}) == 0.0


def test_a_rating_says_its_levels_and_counts_its_acts() -> None:
    r = rating({"warmth": 0, "validation": 2},
               acts=("open_question", "care", "open_question"))
    assert r.level("warmth") == 0 and r.level("validation") == 2
    assert r.level("exploration") is None
    assert r.count("open_question") == 2 and r.count("care") == 1 and r.count("advice") == 0


def test_the_fingerprint_is_stable_and_follows_every_field(monkeypatch) -> None:
    first = rubric_fingerprint()
    assert first == rubric_fingerprint() and len(first) == 12
    assert all(c in "0123456789abcdef" for c in first)
    changed = list(rubric.CRITERIA)
    changed[-1] = dataclasses.replace(changed[-1], example_weak=changed[-1].example_weak + "!")
    monkeypatch.setattr(rubric, "CRITERIA", tuple(changed))
    assert rubric_fingerprint() != first
    monkeypatch.undo()
    monkeypatch.setattr(rubric, "HORSEMEN", {**rubric.HORSEMEN, "contempt": "changed"})
    assert rubric_fingerprint() != first
