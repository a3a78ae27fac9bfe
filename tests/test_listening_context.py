"""Context rules for listening: doing what they asked, and their words said back."""

from __future__ import annotations

import pytest

from coach.judges.acts.tagger import tag_reply

_ASK = "What would help is a quiet night. Just you and me on the sofa, and the phones off."
_WANT = "I'd want you to meet me at the station after work. That's all I'd want."
_DONT = "Don't promise me anything. Just be there on Friday."
_STORY = "The train was cancelled, then the bus broke down, and I got in at two in the morning."


@pytest.mark.parametrize(
    ("partner", "reply", "act", "tagged"),
    [
        (_ASK, "Done.", "offer_presence", True),  # a bare yes to what would help
        (_WANT, "Then that's what you'll get.", "offer_presence", True),
        (_WANT, "And yes, I'll be at the station.", "offer_presence", True),
        (_DONT, "No promises, then.", "offer_presence", True),  # their terms kept
        (_DONT, "I promise.", "offer_presence", False),
        (_STORY, "Done.", "offer_presence", False),  # nothing was asked
        # their list said back, from the listener's side ("me", "us" may stay)
        (_ASK, "A quiet night, just us on the sofa, phones off.", "simple_reflection", True),
        (_STORY, "In at two in the morning, okay.", "simple_reflection", True),
        (_STORY, "My train was cancelled too.", "simple_reflection", False),  # an "I" story
        (_STORY, "Happy birthday.", "simple_reflection", False),
        # their story with a rising tone checks what they said (no question word first)
        ("He put my email on the big screen and they all laughed.",
         "He put your email up on the screen and they laughed?", "simple_reflection", True),
        (_STORY, "Was the train cancelled?", "simple_reflection", False),
        # a generalising word that is theirs is part of their story, not a platitude
        ("They read my email out. Everyone laughed at me.",
         "Everyone laughed at you over your email.", "simple_reflection", True),
        ("They read my email out. They laughed at me.",
         "Everyone laughed at you over your email.", "simple_reflection", False),
        # an account of oneself answers a complaint about oneself by arguing the case
        ("You never ask about my day.", "I asked you on Tuesday.", "defensiveness", True),
        ("You were on your phone the whole dinner.", "I was replying to work.",
         "defensiveness", True),
        # but an admission that says their complaint back, or owns it, is not
        ("You were on your phone the whole dinner.", "I was on my phone the whole dinner.",
         "defensiveness", False),
        ("You laughed at me in front of them.", "I did laugh, and it was unkind.",
         "defensiveness", False),
        ("You went quiet on me after the call.", "I didn't know you'd heard that call.",
         "defensiveness", False),
        # and the same words after a hurt of their own are only an account
        ("My boss shouted at me today.", "I was replying to work.", "defensiveness", False),
        # the complaint can be about what the listener only or never does, and the case
        # argued can be any deed of one's own
        ("The only time you reach for me is at night.", "I ironed your shirts on Sunday.",
         "defensiveness", True),
        ("We haven't eaten at the same table since May.", "We had all of Sunday together.",
         "defensiveness", True),
        ("You're off to choir and I'm sat here.", "Somebody's got to have the little ones.",
         "defensiveness", True),
        # but a wish or an admission of not knowing is no case argued, and a thank-you is no
        # complaint
        ("You only touch me when you want something.", "I don't want to forget it.",
         "defensiveness", False),
        ("The only time you reach for me is at night.", "I didn't know it felt like that.",
         "defensiveness", False),
        ("Thank you. You have made me see it's not hopeless.",
         "I worked in a restaurant a decade ago.", "defensiveness", False),
        # what they said they can do, said back, is no suggestion
        ("I can read a scan. I can't read her voice.", "You can read the scan.",
         "simple_reflection", True),
        ("I can read a scan. I can't read her voice.", "You can read the scan.", "advice", False),
        ("My mum's had a stroke.", "You can ring the hospital tomorrow.", "advice", True),
        # a yes to "Is that okay?" gives them what they asked; a shrug-off still brushes it off
        ("I'd like to talk about it. Is that okay?", "Yes, it's okay.", "offer_presence", True),
        ("I'd like to talk about it. Is that okay?", "Yes, it's okay.", "minimizing", False),
        ("I'd like to talk about it. Is that okay?", "It's fine, don't worry about it.",
         "minimizing", True),
        ("I got a bad mark on my essay.", "It's okay.", "minimizing", True),
    ],
)
def test_context_rules(partner: str, reply: str, act: str, tagged: bool) -> None:
    assert (act in tag_reply(reply, partner_line=partner).kinds) is tagged


_NIGHT = "They work nights at a warehouse and have just come in; they pour cereal."


@pytest.mark.parametrize(
    ("reply", "act"),
    [
        ("It sounds like you felt humiliated.", "simple_reflection"),  # a guess: nothing fits
        ("You must be exhausted.", "complex_reflection"),  # "tired" is its kin
        ("It sounds like that really hurt.", "complex_reflection"),  # hurt fits most news
    ],
)
def test_a_feeling_that_fits_nothing_they_said_is_a_guess(reply: str, act: str) -> None:
    acts = tag_reply(reply, partner_line="Fine. Tired. It was fine.", situation=_NIGHT)
    assert act in acts.kinds
    # without a scenario there is no situation to check it by
    assert "complex_reflection" in tag_reply(reply, partner_line="Fine. Tired.").kinds
