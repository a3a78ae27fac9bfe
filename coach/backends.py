"""Which judge and partner a session uses."""

from __future__ import annotations

from dataclasses import dataclass

from coach.judge import Judge
from coach.partner import Partner, ScriptedPartner

OFFLINE_LABEL = "offline (scripted partner + heuristic judge)"


@dataclass
class Backend:
    judge: Judge
    partner: Partner
    label: str
    offline: bool


def make_backend(config: object | None = None) -> Backend:
    """The offline backend (model backends arrive with coach.config)."""
    from coach.heuristic import HeuristicJudge

    return Backend(HeuristicJudge(), ScriptedPartner(), OFFLINE_LABEL, True)
