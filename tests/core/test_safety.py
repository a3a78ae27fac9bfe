"""The safety gate (coach/core/safety.py): the phrase that raised a concern, or None."""

from __future__ import annotations

import pytest

from coach.core.safety import concern


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("Honestly sometimes I want to die.", "want to die"),
        ("He hits me when he drinks.", "hits me"),
        ("I keep thinking about suicide", "suicide"),
        ("I'm scared of him.", "scared of him"),
        ("He hit me again last night.", "hit me"),
        ("He hit me hard.", "hit me"),
        ("He really hit me.", "hit me"),
        ("She kicks him when she's angry.", "kicks him"),
    ],
)
def test_a_concern_is_named_by_its_whole_phrase(text, phrase) -> None:
    assert concern(text) == phrase


@pytest.mark.parametrize(
    "text",
    [
        "That sounds exhausting. What happened?",
        "That was an abuse of power by your boss.",
        "",
        # figurative blows: the news landing, not a person striking someone
        "How did it hit you, hearing it?",
        "It really hit me when she said my name.",
        "Okay, go on, hit me. What am I doing wrong?",
        "Hit me with it, I'm listening.",
        "Is this the bit where you tell me I'm rubbish in bed? Go on then, hit me.",
        "That hit you hard, didn't it?",
    ],
)
def test_an_ordinary_reply_raises_none(text) -> None:
    assert concern(text) is None
