"""What the partner answers: the reply's acts, read into one response kind for the beat.

The reading (coach/core/reading.py) says how the reply *felt* and moves openness; the response
kind says what the reply *did*, so the partner can answer it: an answer to a question, more
after a reflection, pushback on advice, hurt at a put-down. Pure functions only.

Priority, highest first (a reply often does several things; the partner answers the one
a person would answer first, and harm is heard over kindness):

1. `put_down`   contempt or blame (acts, or the contempt/criticism flags): hurt or withdrawal.
2. `defensive`  defensiveness: "this isn't about you" (said in the beat's `self_focused` line).
3. `dismissed`  a reply read as dismissing, or minimizing/withdrawal the reading did not
                forgive: the `dismissing` line.
4. `advice`     a reply read as fixing: pushback on being given a plan (the `fixing` line).
5. `about_you`  self-focus, or a reply read as self-focused: the `self_focused` line.
6. `apology`    an apology or ownership of one's part: a response to the apology.
7. `answer`     an open question: an answer, revealing the next layer of the story.
8. `more`       a reflection or validation that lands (nothing above fired): more.
9. `bare`       a bare acknowledgement and nothing else: a prod, or a retreat when guarded.
10. `heard` / `neutral`  anything else: the beat's line for the reading.

Advice and minimizing follow the reading, not the bare act: a tentative idea or a "sorry"
after "don't say sorry", wrapped in real attunement, is forgiven by the reading, so the
partner answers what else the reply did (the apology, the question) instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from coach.core.reading import Reading
from coach.core.rubric import Rating


class Response(StrEnum):
    """What the partner answers in a reply."""

    PUT_DOWN = "put_down"
    DEFENSIVE = "defensive"
    DISMISSED = "dismissed"
    ADVICE = "advice"
    ABOUT_YOU = "about_you"
    APOLOGY = "apology"
    ANSWER = "answer"
    MORE = "more"
    BARE = "bare"
    HEARD = "heard"
    NEUTRAL = "neutral"


# The beat field each response is said from, then the fallbacks, nearest first. The
# reading-named fields are every beat's required lines, so an old file always has a line.
LINE_FIELDS: dict[Response, tuple[str, ...]] = {
    Response.PUT_DOWN: ("put_down", "dismissing"),
    Response.DEFENSIVE: ("self_focused",),
    Response.DISMISSED: ("dismissing",),
    Response.ADVICE: ("fixing",),
    Response.ABOUT_YOU: ("self_focused",),
    Response.APOLOGY: ("apology",),
    Response.ANSWER: ("answer",),
    Response.MORE: ("more",),
    Response.BARE: ("bare", "neutral"),
    Response.HEARD: ("heard",),
    Response.NEUTRAL: ("neutral",),
}

# The lines a beat adds for what the reply did (beyond the five reading lines).
ACT_FIELDS: tuple[str, ...] = ("answer", "more", "apology", "put_down", "bare")

_PUT_DOWN = {"contempt", "blame"}
_DISMISS = {"minimizing", "withdrawal"}
_REFLECT = {"simple_reflection", "complex_reflection", "validation"}
# Acts that make a reply more than a bare "ok".
_SUBSTANCE = set(_PUT_DOWN | _DISMISS | _REFLECT) | {
    "open_question", "closed_question", "rhetorical_question", "off_topic_question",
    "understanding_claim", "care", "affirmation", "apology", "ownership", "offer_presence",
    "asks_needs", "advice", "information", "self_focus", "defensiveness",
}


def response_to(rating: Rating, reading: Reading, fallback_acts: Iterable[str] = ()) -> Response:
    """The partner's response kind for a rated reply (see the module docstring's priority).

    Args:
        rating: the rating the user sees (any judge).
        reading: how the partner took the reply (from the same rating where possible).
        fallback_acts: act kinds to use when `rating` carries none (a model judge without
            acts, an unscored reply): normally the built-in rules' tags of the same reply.
    """
    kinds = {a.kind for a in rating.acts} or set(fallback_acts)
    flags = set(rating.flags)
    if kinds & _PUT_DOWN or flags & {"contempt", "criticism"}:
        return Response.PUT_DOWN
    if "defensiveness" in kinds or "defensiveness" in flags:
        return Response.DEFENSIVE
    if reading == Reading.DISMISSING or kinds & _DISMISS and reading != Reading.HEARD:
        return Response.DISMISSED
    if reading == Reading.FIXING:
        return Response.ADVICE
    if "self_focus" in kinds and reading != Reading.HEARD or reading == Reading.SELF_FOCUSED:
        return Response.ABOUT_YOU
    if kinds & {"apology", "ownership"}:
        return Response.APOLOGY
    if "open_question" in kinds:
        return Response.ANSWER
    if kinds & _REFLECT:
        return Response.MORE
    if "acknowledgement" in kinds and not kinds & _SUBSTANCE:
        return Response.BARE
    return Response.HEARD if reading == Reading.HEARD else Response.NEUTRAL


def band_of(openness: int) -> str:
    """The openness band a line's variants are chosen by: guarded, opening or open."""
    if openness <= -1:
        return "guarded"
    return "open" if openness >= 3 else "opening"
