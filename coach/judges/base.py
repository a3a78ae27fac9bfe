"""The judge seam: what every judge (heuristic or model) is given and must return.

A judge is a plain object with a `rate` method returning a `Rating`; it never raises for a
bad model answer (that becomes an unscored rating with a reason, or a heuristic fallback
marked as such). It may raise `ModelError` when the model cannot be reached at all, so the
caller can keep the reply and offer a retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from coach.core.rubric import Rating
from coach.core.session import Line

if TYPE_CHECKING:
    from coach.core.scenario import Scenario

MAX_REPLY_CHARS = 4000


@dataclass(frozen=True)
class JudgeContext:
    """Everything a judge may look at to rate one reply.

    Attributes:
        reply: the user's reply being rated.
        history: the conversation before the reply, oldest first (ends with the partner's line).
        scenario: the scenario, when rating inside a session (None for eval datasets).
        turn: which user turn this reply is (1 = the reply to the opening line).
    """

    reply: str
    history: tuple[Line, ...] = ()
    scenario: Scenario | None = None
    turn: int = 1
    weights: dict[str, float] = field(default_factory=dict)

    def weight(self, key: str) -> float:
        if self.scenario is not None:
            return self.scenario.weight(key)
        return float(self.weights.get(key, 1.0))


class Judge(Protocol):
    """Rates one reply against the rubric."""

    name: str

    def rate(self, ctx: JudgeContext) -> Rating:
        """Return the rating for `ctx.reply`. See the module docstring for errors."""
        ...
