"""Cases added while tuning the heuristic on EPITOME-style replies (general phrase classes)."""

from __future__ import annotations

import pytest

from coach.judges.builtin import epitome_levels, score_reply, shared_experience

CASES = [
    # a stock phrase: said to anyone, it counts as brief care at most
    ("I'm sorry you're going through this.", "warmth", 1),
    ("So sorry that's happening to you.", "warmth", 2),
    ("Sorry for not replying sooner.", "warmth", 0),
    ("I hope things get better for you soon.", "warmth", 1),
    ("Hang in there, you're not alone.", "warmth", 1),
    ("That's horrible.", "warmth", 2),
    ("I know how you feel.", "understanding", 1),
    ("You're going through so much right now.", "understanding", 2),
    ("What happened?", "exploration", 1),
    ("What's going on, friend?", "exploration", 1),
    ("Why am I so unlucky?", "exploration", 0),
    ("It's a mess, you know?", "exploration", 0),
    ("When did you first notice it?", "exploration", 2),
    ("Do you have anyone you can talk to about this?", "exploration", 2),
    ("How long have you been feeling this way", "exploration", 2),
    ("Do you want me to just listen?", "exploration", 1),
]


@pytest.mark.parametrize(("reply", "key", "level"), CASES)
def test_tuned_levels(reply: str, key: str, level: int) -> None:
    scores, _ = score_reply(reply)
    assert scores[key].level == level, (reply, key, scores[key])


def test_shared_experience_is_not_understanding_in_the_rubric() -> None:
    reply = "I went through the same thing when my dad left. I was angry for years."
    assert shared_experience(reply) == 2
    assert score_reply(reply)[0]["understanding"].level == 0
    assert score_reply(reply)[0]["stays_with_them"].level == 0
    assert epitome_levels(reply)["interpretations"] == 2


def test_relating_claim_is_weak() -> None:
    assert shared_experience("I feel the same.") == 1
    assert shared_experience("I'm sorry. I hope it gets better.") == 0
