"""What the partner answers (coach/core/response.py): the priority of a reply's acts, the
reading's forgiveness, and the openness bands a line's variants are chosen by."""

from __future__ import annotations

import pytest

from coach.core.reading import Reading
from coach.core.response import Response, band_of, response_to
from tests.core.helpers import rating


def _acts(*kinds: str, flags: tuple[str, ...] = ()):
    return rating({}, acts=kinds, flags=flags)


@pytest.mark.parametrize(
    ("kinds", "reading", "expected"),
    [
        (("contempt", "open_question"), Reading.DISMISSING, Response.PUT_DOWN),
        (("blame", "validation"), Reading.DISMISSING, Response.PUT_DOWN),
        (("defensiveness", "apology"), Reading.SELF_FOCUSED, Response.DEFENSIVE),
        (("minimizing", "care"), Reading.DISMISSING, Response.DISMISSED),
        (("minimizing", "apology", "care"), Reading.HEARD, Response.APOLOGY),  # forgiven
        (("advice", "open_question"), Reading.FIXING, Response.ADVICE),
        (("advice", "complex_reflection", "asks_needs"), Reading.HEARD, Response.MORE),
        (("self_focus",), Reading.SELF_FOCUSED, Response.ABOUT_YOU),
        (("ownership", "open_question"), Reading.HEARD, Response.APOLOGY),
        (("open_question", "simple_reflection"), Reading.HEARD, Response.ANSWER),
        (("complex_reflection",), Reading.NEUTRAL, Response.MORE),
        (("acknowledgement",), Reading.NEUTRAL, Response.BARE),
        (("acknowledgement", "care"), Reading.NEUTRAL, Response.NEUTRAL),
        (("care", "asks_needs"), Reading.HEARD, Response.HEARD),
        ((), Reading.NEUTRAL, Response.NEUTRAL),
        # a reading says more than the acts, and the acts more than a neutral reading
        ((), Reading.DISMISSING, Response.DISMISSED),
        (("minimizing",), Reading.NEUTRAL, Response.DISMISSED),
        ((), Reading.SELF_FOCUSED, Response.ABOUT_YOU),
        (("self_focus", "open_question"), Reading.NEUTRAL, Response.ABOUT_YOU),
        (("self_focus", "open_question"), Reading.HEARD, Response.ANSWER),  # forgiven
    ],
)
def test_response_priority(kinds, reading, expected) -> None:
    assert response_to(_acts(*kinds), reading) == expected


def test_fallback_acts_are_used_only_when_the_rating_has_none() -> None:
    assert response_to(_acts(), Reading.NEUTRAL, ["open_question"]) == Response.ANSWER
    assert response_to(_acts("acknowledgement"), Reading.NEUTRAL, ["open_question"]) == (
        Response.BARE
    )


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("contempt", Response.PUT_DOWN), ("criticism", Response.PUT_DOWN),
     ("defensiveness", Response.DEFENSIVE), ("stonewalling", Response.NEUTRAL)],
)
def test_flags_count_without_acts(flag, expected) -> None:
    assert response_to(_acts(flags=(flag,)), Reading.NEUTRAL) == expected


@pytest.mark.parametrize(
    ("openness", "band"), [(-5, "guarded"), (-1, "guarded"), (0, "opening"), (2, "opening"),
                           (3, "open"), (5, "open")]
)
def test_openness_bands(openness, band) -> None:
    assert band_of(openness) == band
