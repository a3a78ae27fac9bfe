"""The partner seam: what every partner (scripted or model) is given, and the endings.

The engine decides *what state* the partner is in (the reading of the reply, the openness
that follows, whether this is the ending); a partner only decides *what to say*. That keeps
the scripted and the model partner consistent and replay deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from coach.core.reading import Reading
from coach.core.response import Response
from coach.core.scenario import Scenario
from coach.core.session import Line
from coach.core.turn import Ending


@dataclass(frozen=True)
class PartnerContext:
    """The partner's situation when answering user turn `turn`.

    Attributes:
        scenario: who they are and what happened.
        history: the conversation so far, including the reply being answered.
        reading: how they took the reply.
        openness: their openness after the reply, -5 (shut) to 5 (open).
        turn: the user turn being answered (1-based).
        ending: set when this answer ends the scenario, to the ending it must be.
        response: what the partner answers in the reply (coach/core/response.py); None means
            "answer the reading" (callers from before act lines).
    """

    scenario: Scenario
    history: tuple[Line, ...]
    reading: Reading
    openness: int
    turn: int
    ending: Ending | None = None
    response: Response | None = None


class Partner(Protocol):
    """Plays the partner. `respond` yields the line in chunks (a token stream for models)."""

    name: str

    def respond(self, ctx: PartnerContext) -> Iterator[str]:
        """Yield the partner's next line in chunks. May raise ModelError."""
        ...
