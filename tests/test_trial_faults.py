"""Faults found in new-user trials of the built-in judge, each pinned by the replies that
showed it and by the near misses that must keep their reading."""

from __future__ import annotations

import pytest

from coach.judges.acts.tagger import tag_reply

_HUMILIATED = "My manager put my report up on the projector and read bits out. Everyone laughed."
_ACCUSED = "You told my sister I was being dramatic about the wedding."


@pytest.mark.parametrize(
    ("reply", "strength"),
    [
        ("That's grim.", 1),
        ("God, that's horrible.", 1),
        ("That's brutal.", 1),
        ("That's rough.", 1),
        ("Oh, that's bleak.", 1),
        ("You're right.", 1),  # agreeing is weaker than saying the feeling is warranted
        ("You're right to be upset.", 2),
        ("You were right to feel hurt by it.", 2),
    ],
)
def test_plain_verdicts_on_what_happened_are_validation(reply: str, strength: int) -> None:
    acts = tag_reply(reply, partner_line=_HUMILIATED)
    found = [t.strength for t, _ in acts.tags("validation")]
    assert found and max(found) == strength, acts


def test_agreeing_that_you_said_it_also_owns_it() -> None:
    acts = tag_reply("You're right, I did say that.", partner_line=_ACCUSED)
    assert {"validation", "ownership"} <= acts.kinds


@pytest.mark.parametrize(
    "reply",
    ["You're not right to shout at me.", "The forecast says it'll be grim all weekend."],
)
def test_near_misses_are_not_validation(reply: str) -> None:
    assert "validation" not in tag_reply(reply, partner_line=_HUMILIATED).kinds


_READ_OUT = "He read my email out in front of everyone at the all-hands, and they laughed."


@pytest.mark.parametrize(
    "reply",
    [
        "You're upset over an email?",
        "You're upset over THAT?",
        "You're crying about a spreadsheet?",
        "All this over one meeting?",
        "Wait, you're still fuming about a joke?",
    ],
)
def test_disbelief_at_their_feeling_minimizes_and_is_no_reflection(reply: str) -> None:
    acts = tag_reply(reply, partner_line=_READ_OUT)
    assert "minimizing" in acts.kinds
    assert not acts.kinds & {"simple_reflection", "complex_reflection"}


@pytest.mark.parametrize(
    "reply",
    [
        "He read it out in front of everyone?",  # their own "everyone" is their story
        "So you've been upset about the email since Tuesday?",
    ],
)
def test_their_story_said_back_as_a_question_still_checks(reply: str) -> None:
    acts = tag_reply(reply, partner_line=_READ_OUT)
    assert "simple_reflection" in acts.kinds
    assert "minimizing" not in acts.kinds


def test_a_worry_put_back_as_a_question_is_no_disbelief() -> None:
    acts = tag_reply("You're worried about a relapse?",
                     partner_line="I keep thinking I'll slip back into drinking after a relapse.")
    assert "simple_reflection" in acts.kinds
    assert "minimizing" not in acts.kinds


_HOLD = "Can you just hold me for a bit?"
_COME = "Will you come with me to the scan tomorrow?"


@pytest.mark.parametrize(
    ("partner", "reply", "withdraws"),
    [
        (_HOLD, "Fine.", True),
        (_COME, "Fine. Whatever you want.", True),
        (_HOLD, "K.", True),
        (_HOLD, "Okay, fine.", True),  # grudging, not the yes it looks like
        ("Do you fancy a walk after tea?", "Fine.", True),  # a bid, not a request
        (_COME, "Fine, I'll come.", False),
        (_COME, "Fine. I'll come.", False),
        (_COME, "Fine. What time is it?", False),  # asks on: it engages
        ("Sorry, can you give me ten more minutes?", "That's fine, take your time.", False),
        ("How was your day?", "Fine.", False),  # nothing was asked of them
        (_HOLD, "Of course.", False),
    ],
)
def test_a_bare_fine_to_what_they_asked_is_withdrawal(
    partner: str, reply: str, withdraws: bool
) -> None:
    acts = tag_reply(reply, partner_line=partner)
    assert ("withdrawal" in acts.kinds) is withdraws, acts


_CLOSET = "Most evenings I'm just part of the furniture to you."
_PRAISED = "And then he called my pitch a masterclass in how to lose a client."
_SAFE = "I want a job with more money and some security."
_NOTICED = "He read it out in front of everyone."


@pytest.mark.parametrize(
    ("partner", "reply", "mocks"),
    [
        (_CLOSET, "Furniture. Right.", True),
        (_CLOSET, "Furniture. Big deal.", True),
        (_CLOSET, "Sure. Furniture.", True),  # the scoff first
        (_PRAISED, "'A masterclass.' Okay.", True),  # held up in quotation marks
        (_PRAISED, "\u201cA masterclass.\u201d Fine.", True),
        (_CLOSET, "Furniture. Okay.", False),  # a plain "okay" agrees
        (_CLOSET, "Right. Furniture.", False),  # "right" first takes it in
        (_CLOSET, "Furniture. Right. That sounds so lonely.", False),  # listens elsewhere
        (_SAFE, "Security.", False),
        (_SAFE, "Security. Right.", False),  # what they want, said back and agreed to
        ("Can we talk on Sunday instead?", "Sunday. Fine.", False),  # a yes to their ask
        (_NOTICED, "In front of everyone. That's awful.", False),
    ],
)
def test_their_words_handed_back_flat_are_a_jab(partner: str, reply: str, mocks: bool) -> None:
    acts = tag_reply(reply, partner_line=partner)
    assert ("contempt" in acts.kinds) is mocks, acts
    if mocks:  # the echo is the jab, not a reflection
        assert not acts.kinds & {"simple_reflection", "complex_reflection"}


def test_a_gentle_echo_of_their_everyone_is_a_reflection() -> None:
    acts = tag_reply("In front of everyone. That's awful.", partner_line=_NOTICED)
    assert acts.sentences[0].has("simple_reflection")
    assert acts.sentences[1].has("validation")
