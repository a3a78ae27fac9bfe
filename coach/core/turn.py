"""Planning one turn: from the rating the user sees to how the partner takes it. Pure.

The partner hears the judge the user sees: the reading, the openness, the response kind and
the ending all come from the shown rating, whichever judge gave it. Only when that rating
carries no verdict (unscored, or the model judge failed) do the built-in rules' reading of
the same reply stand in, so the conversation can go on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from coach.core.reading import Reading, advance_openness, reading_of
from coach.core.response import Response, response_to
from coach.core.rubric import Rating
from coach.core.scenario import Scenario

Ending = Literal["felt_heard", "not_heard"]


def ending_for(scenario: Scenario, openness: int) -> Ending:
    """The ending that fits how heard the partner feels."""
    return "felt_heard" if openness >= scenario.felt_heard_at else "not_heard"


@dataclass(frozen=True)
class TurnPlan:
    """What the partner will do with a reply.

    Attributes:
        reading: how the partner takes the reply.
        response: which kind of line answers it (coach/core/response.py).
        openness: the partner's openness after it.
        ending: the ending, when this is the scenario's last turn (never on a pause).
        pause: a safety concern pauses the role-play: no in-character answer.
    """

    reading: Reading
    response: Response
    openness: int
    ending: Ending | None
    pause: bool


def plan_turn(
    scenario: Scenario,
    *,
    rating: Rating | None,
    builtin: Rating,
    prev_openness: int,
    turn: int,
    flagged: bool,
) -> TurnPlan:
    """Plan the partner's answer to user turn `turn`.

    Args:
        rating: the rating the user sees (None when the judge failed).
        builtin: the built-in judge's rating of the same reply, read only when `rating`
            has no verdict of its own.
        prev_openness: the partner's openness before this reply.
        flagged: the reply raised a safety concern.
    """
    shown = rating if rating is not None and rating.status == "scored" else builtin
    reading = Reading.NEUTRAL if flagged else reading_of(shown)
    response = response_to(shown, reading, fallback_acts=(a.kind for a in builtin.acts))
    openness = advance_openness(prev_openness, reading)
    ending = ending_for(scenario, openness) if turn >= scenario.turns and not flagged else None
    return TurnPlan(reading, response, openness, ending, flagged)


def merged_error(errors: list[tuple[str, str]]) -> str:
    """One message for a turn's failures, given as (role, message) pairs.

    The partner and the judge usually fail for the same reason (the server is down), so
    the same message is said once; different ones are each named by their role.
    """
    messages = {m for _, m in errors}
    if len(messages) == 1:
        return messages.pop()
    return " ".join(f"{role}: {m}" for role, m in errors)
