"""How the partner takes a reply, and how that moves their openness.

The reading is derived from the rating the user sees (the built-in rules' one while a
model judge is still running) so that the partner's reaction stays consistent with the
feedback. It moves openness; what the partner answers is coach/core/response.py's business.
Pure functions only.
"""

from __future__ import annotations

from enum import StrEnum

from coach.core.rubric import Rating

OPENNESS_MIN, OPENNESS_MAX = -5, 5


class Reading(StrEnum):
    """How the partner takes a reply."""

    HEARD = "heard"
    FIXING = "fixing"
    DISMISSING = "dismissing"
    SELF_FOCUSED = "self_focused"
    NEUTRAL = "neutral"


# Why these numbers: being heard opens people up faster than a single fumble closes them,
# but dismissal hurts more than a clumsy fix or a story about oneself.
OPENNESS_DELTA: dict[Reading, int] = {
    Reading.HEARD: 2,
    Reading.NEUTRAL: 0,
    Reading.FIXING: -1,
    Reading.SELF_FOCUSED: -1,
    Reading.DISMISSING: -2,
}

_ATTUNED = ("warmth", "validation", "understanding", "exploration", "asks_needs")


def reading_of(rating: Rating) -> Reading:
    """Read a rated reply the way the partner would feel it.

    A hurtful move dominates: one "at least" undoes a lot of warmth, so dismissing wins over
    fixing, which wins over self-focus. Otherwise the reply is "heard" when it carries
    at least three levels of attunement (e.g. a strong reflection plus some warmth).
    """
    if rating.status != "scored":
        return Reading.NEUTRAL
    level = rating.level
    attunement = sum(level(k) or 0 for k in _ATTUNED)
    # A mild slip ("don't worry", a tentative idea) lands as that slip when little else in
    # the reply shows they were heard; wrapped in real attunement it is forgiven.
    cushioned = attunement >= 3
    if level("no_dismissing") == 0 or {"contempt", "criticism"} & set(rating.flags):
        return Reading.DISMISSING
    if level("no_fixing") == 0 or (level("no_fixing") == 1 and (level("asks_needs") or 0) < 2
                                   and not cushioned):
        return Reading.FIXING
    if level("stays_with_them") == 0 or "defensiveness" in rating.flags:
        return Reading.SELF_FOCUSED
    if "stonewalling" in rating.flags or (level("no_dismissing") == 1 and not cushioned):
        return Reading.DISMISSING
    if level("stays_with_them") == 1 and not cushioned:
        return Reading.SELF_FOCUSED
    return Reading.HEARD if attunement >= 3 else Reading.NEUTRAL


def advance_openness(openness: int, reading: Reading) -> int:
    """The partner's openness after a reply read as `reading`, clamped to [-5, 5]."""
    return max(OPENNESS_MIN, min(OPENNESS_MAX, openness + OPENNESS_DELTA[reading]))
